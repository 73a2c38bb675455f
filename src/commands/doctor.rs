//! `harness doctor`: every toolchain piece, how it stands, and the fix for what is missing.
//! Exit code 0 when everything needed is there, 2 when something is missing.

use crate::cli::{DoctorArgs, GlobalArgs};
use crate::toolchain::{anything_missing, cache_dir_from_env, diagnose, libtorch_from_env, Health};

use super::{EXIT_INPUT, EXIT_OK};

pub fn doctor(global: &GlobalArgs, args: &DoctorArgs) -> anyhow::Result<u8> {
    let cache = cache_dir_from_env(global.cache_dir.as_deref())?;
    let user = libtorch_from_env();
    println!("cache: {}", cache.display());
    let findings = diagnose(&cache, user.as_deref(), !args.no_smoke);
    for finding in &findings {
        let health = match finding.health {
            Health::Ok => "ok",
            Health::Missing => "MISSING",
            Health::Note => "note",
        };
        println!("  {health:<8} {:<16} {}", finding.piece, finding.detail);
        if let Some(fix) = &finding.fix {
            if finding.health != Health::Ok {
                println!("  {:<8} {:<16} fix: {fix}", "", "");
            }
        }
    }
    if anything_missing(&findings) {
        println!("something is missing: see the fixes above");
        Ok(EXIT_INPUT)
    } else {
        println!("everything is in place");
        Ok(EXIT_OK)
    }
}
