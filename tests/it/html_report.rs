//! `harness report html` opened in a real browser (headless Chromium through chromedriver):
//! every image loads, no console errors, every local link resolves, and a reply carrying
//! markup is shown as text and never runs. Saves screenshots under `target/` for a person.
//!
//! Skips with a visible message where no browser is installed; with `CI` set, a missing
//! browser is a failure (`.ci/run` installs `chromium` and `chromium-driver`).

use std::path::{Path, PathBuf};

use harness::transcript::{read_transcript, Event, TranscriptWriter, TRANSCRIPT_FILE};
use serde_json::{json, Value};

use crate::support::harness::Harness;
use crate::support::skip::{skip, Needs};
use crate::support::webdriver::Browser;

/// What the hostile reply carries: a script that would mark the page and raise an alert, and an
/// image whose error handler would rename the page.
const SCRIPT: &str = "<script>window.harnessPwned = 1; alert(1)</script>";
const IMG: &str = "<img src=x onerror=\"document.title = 'pwned'\">";
const HOSTILE_RUN: &str = "fixture-scripted-stats-r2-hostile";

fn fixture_transcript() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runs/fixture-scripted-stats")
        .join(TRANSCRIPT_FILE)
}

/// Writes the fixture run, and a second repeat of it whose first reply carries markup, into the
/// runs folder.
fn write_runs(runs_dir: &Path) {
    let original = read_transcript(&fixture_transcript()).unwrap();
    for (run_id, repeat, hostile) in [
        (original.header.run_id.clone(), 1, false),
        (HOSTILE_RUN.to_string(), 2, true),
    ] {
        let dir = runs_dir.join(&run_id);
        std::fs::create_dir_all(&dir).unwrap();
        let mut header = original.header.clone();
        header.run_id = run_id;
        header.repeat = repeat;
        let mut writer = TranscriptWriter::create(&dir.join(TRANSCRIPT_FILE)).unwrap();
        writer.append(&Event::Header(Box::new(header))).unwrap();
        for event in &original.events {
            let mut event = event.clone();
            if let Event::Reply(reply) = &mut event {
                if hostile && reply.iteration == 1 {
                    reply.text.push_str(&format!("\n{SCRIPT}\n{IMG}\n"));
                }
            }
            writer.append(&event).unwrap();
        }
    }
}

/// A PNG and an SVG figure, each with its CSV.
fn write_figures(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut png = image::RgbImage::new(64, 40);
    for (x, _, pixel) in png.enumerate_pixels_mut() {
        *pixel = image::Rgb([(x * 4) as u8, 90, 160]);
    }
    png.save(dir.join("errors-per-llm.png")).unwrap();
    std::fs::write(dir.join("errors-per-llm.csv"), "llm,rounds\nfixture,2\n").unwrap();
    std::fs::write(
        dir.join("success-by-round.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"80\" height=\"40\"><rect width=\"80\" height=\"40\" fill=\"#2e8540\"/></svg>",
    )
    .unwrap();
    std::fs::write(dir.join("success-by-round.csv"), "k,p\n1,0\n3,1\n").unwrap();
}

/// The build's `target` folder, where the screenshots go.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .to_path_buf()
}

/// `%XX` escapes of a URL path decoded.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Opens `page` and checks it: images loaded, no console errors, local links to existing files
/// (and their fragments to existing elements). Returns how many images and links it checked.
fn check_page(browser: &Browser, page: &Path) -> (usize, usize) {
    browser.open(page).unwrap();
    let images = browser
        .script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);",
            json!([]),
        )
        .unwrap();
    let images = images.as_array().unwrap().clone();
    for image in &images {
        assert!(
            image[1] == json!(true) && image[2].as_u64().unwrap_or(0) > 0,
            "{}: the image {} did not load",
            page.display(),
            image[0]
        );
    }
    let links = browser
        .script(
            "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);",
            json!([]),
        )
        .unwrap();
    let links: Vec<String> = links
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    for link in &links {
        let local = link
            .strip_prefix("file://")
            .unwrap_or_else(|| panic!("{}: a link leaves the report: {link}", page.display()));
        let (file, fragment) = local.split_once('#').unwrap_or((local, ""));
        let file = PathBuf::from(percent_decode(file));
        assert!(
            file.is_file(),
            "{}: the link {link} names no file",
            page.display()
        );
        if !fragment.is_empty() && file.extension().is_some_and(|e| e == "html") {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                text.contains(&format!("id=\"{fragment}\"")),
                "{}: the link {link} names no element",
                page.display()
            );
        }
    }
    let errors: Vec<Value> = browser
        .console()
        .unwrap()
        .into_iter()
        .filter(|entry| entry["level"] == json!("SEVERE"))
        .collect();
    assert!(
        errors.is_empty(),
        "{}: console errors: {errors:?}",
        page.display()
    );
    (images.len(), links.len())
}

#[test]
fn the_html_report_loads_in_a_real_browser_and_shows_markup_as_text() {
    let harness = Harness::new();
    write_runs(&harness.runs_dir());
    let figures = harness.root().join("figures-in");
    write_figures(&figures);
    let out = harness.root().join("report");
    let finished = harness
        .run(&[
            "report",
            "html",
            "--out",
            &out.to_string_lossy(),
            "--figures",
            &figures.to_string_lossy(),
        ])
        .expect_code(0);
    let index = out.join("index.html");
    assert_eq!(finished.stdout.trim(), index.to_string_lossy());
    let hostile_page = out.join("runs").join(format!("{HOSTILE_RUN}.html"));
    let source = std::fs::read_to_string(&hostile_page).unwrap();
    assert!(
        !source.contains(SCRIPT),
        "the script is escaped in the file"
    );

    let browser = match Browser::start() {
        Ok(Some(browser)) => browser,
        Ok(None) => {
            // Under CI a failure: .ci/run installs chromium and chromium-driver.
            skip(Needs::Browser, "no chromium and chromedriver on PATH");
            return;
        }
        Err(error) => panic!("the browser is installed but did not start: {error}"),
    };

    let (images, links) = check_page(&browser, &index);
    assert_eq!(images, 2, "both figures are on the front page");
    assert!(links > 10, "the front page links runs and rules: {links}");
    // The whole front page in one picture (up to 4000 pixels high), for a person to look at.
    let height = browser
        .script("return document.documentElement.scrollHeight;", json!([]))
        .unwrap()
        .as_u64()
        .unwrap();
    browser
        .resize(1600, height.clamp(800, 4000) as u32)
        .unwrap();
    let shot = browser.screenshot().unwrap();
    browser.resize(1280, 1000).unwrap();
    assert!(shot.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(target_dir().join("html-report-screenshot.png"), shot).unwrap();

    let mut pages: Vec<PathBuf> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.push(out.join("methodology.html"));
    assert_eq!(pages.len(), 3, "{pages:?}");
    for page in &pages {
        check_page(&browser, page);
    }

    // The hostile run: its markup is on the page as text, and none of it ran.
    browser.open(&hostile_page).unwrap();
    let seen = browser
        .script(
            "return [document.body.textContent, document.scripts.length, document.querySelectorAll('img').length, typeof window.harnessPwned, document.title];",
            json!([]),
        )
        .unwrap();
    let text = seen[0].as_str().unwrap();
    assert!(text.contains(SCRIPT), "the script is shown as text");
    assert!(text.contains(IMG), "the image tag is shown as text");
    assert_eq!(seen[1], json!(0), "no script element");
    assert_eq!(seen[2], json!(0), "no image element on a run page");
    assert_eq!(seen[3], json!("undefined"), "the script never ran");
    assert_eq!(seen[4], json!(HOSTILE_RUN), "the error handler never ran");
    // Scrolled to the hostile reply, for the person looking at the screenshot.
    browser
        .script(
            "const p = Array.from(document.querySelectorAll('#round-1 pre')).find(p => p.textContent.includes('harnessPwned')); p.scrollTop = p.scrollHeight; p.scrollIntoView({block: 'end'}); return null;",
            json!([]),
        )
        .unwrap();
    let shot = browser.screenshot().unwrap();
    std::fs::write(target_dir().join("html-report-run-screenshot.png"), shot).unwrap();
    assert!(browser
        .console()
        .unwrap()
        .iter()
        .all(|e| e["level"] != json!("SEVERE")));
}

#[test]
fn a_second_report_in_the_same_folder_keeps_only_its_own_run_pages() {
    let harness = Harness::new();
    write_runs(&harness.runs_dir());
    let out = harness.root().join("report");
    let out_arg = out.to_string_lossy().into_owned();
    harness
        .run(&["report", "html", "--out", &out_arg])
        .expect_code(0);
    let hostile_page = out.join("runs").join(format!("{HOSTILE_RUN}.html"));
    assert!(hostile_page.is_file());
    // A figure without its CSV is left out, with a note saying so.
    let figures = harness.root().join("figures-in");
    write_figures(&figures);
    std::fs::remove_file(figures.join("success-by-round.csv")).unwrap();
    let only_first = harness.runs_dir().join(
        read_transcript(&fixture_transcript())
            .unwrap()
            .header
            .run_id,
    );
    let finished = harness
        .run(&[
            "report",
            "html",
            &only_first.to_string_lossy(),
            "--out",
            &out_arg,
            "--figures",
            &figures.to_string_lossy(),
        ])
        .expect_code(0);
    assert!(
        finished
            .stderr
            .contains("success-by-round.svg has no success-by-round.csv beside it"),
        "{}",
        finished.stderr
    );
    assert!(!hostile_page.exists(), "the earlier report's page is gone");
    let pages: Vec<_> = std::fs::read_dir(out.join("runs")).unwrap().collect();
    assert_eq!(pages.len(), 1);
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains("src=\"figures/errors-per-llm.png\""));
    assert!(!index.contains("success-by-round"));
    assert!(out.join("figures/errors-per-llm.csv").is_file());
}
