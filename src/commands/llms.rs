//! `harness llms`: the registry as a table, with whether each key is set.

use crate::cli::GlobalArgs;
use crate::config::Registry;

use super::EXIT_OK;

pub fn llms(global: &GlobalArgs) -> anyhow::Result<u8> {
    let registry = Registry::load(global.registry.as_deref())?;
    println!(
        "| id | provider | model | base URL | key variable | key | cohort | USD per Mtok in/out | max tokens sent | model's context / output limit |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for spec in registry.entries() {
        let key = match &spec.api_key_env {
            None if spec.is_chat_only() => "no API: import-chat",
            None => "not needed",
            Some(var) if std::env::var(var).is_ok_and(|v| !v.trim().is_empty()) => "set",
            Some(_) if spec.key_optional => "optional",
            Some(_) => "missing",
        };
        let price = spec.price.as_ref().map_or("n/a".to_string(), |p| {
            format!("{} / {}", p.input_per_mtok, p.output_per_mtok)
        });
        let sent = spec
            .params
            .max_tokens
            .map_or("none (the server's)".to_string(), |n| n.to_string());
        let limits = spec.limits.map_or("unknown".to_string(), |l| {
            format!("{} / {}", l.context_tokens, l.output_tokens)
        });
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            spec.id,
            spec.provider,
            spec.model,
            spec.base_url(),
            spec.api_key_env.as_deref().unwrap_or("-"),
            key,
            spec.cohort.as_deref().unwrap_or("-"),
            price,
            sent,
            limits
        );
    }
    Ok(EXIT_OK)
}
