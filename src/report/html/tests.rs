//! Tests of the HTML report on the committed fixture recording and variants of it: escaping,
//! charges that agree with the error table, provenance links and links between pages.

use std::collections::BTreeSet;
use std::path::Path;

use crate::transcript::{EndStatus, Event, Transcript};

use super::charge::{charges, Charge};
use super::*;

fn fixture() -> Transcript {
    let text = include_str!("../../../tests/fixtures/runs/fixture-scripted-stats/transcript.yaml");
    crate::transcript::parse_transcript(text, Path::new("fixture.yaml")).unwrap()
}

const HOSTILE: &str = "<script>window.pwned = 1; alert(1)</script><img src=x onerror=\"alert(2)\">";

/// The fixture as a second repeat whose first reply carries markup, and a third that gave up
/// after two rounds.
fn runs() -> Vec<Transcript> {
    let mut hostile = fixture();
    hostile.header.run_id = "fixture-scripted-stats-r2-hostile".into();
    hostile.header.repeat = 2;
    for event in &mut hostile.events {
        if let Event::Reply(reply) = event {
            if reply.iteration == 1 {
                reply.text.push_str(HOSTILE);
            }
        }
    }
    let mut gave_up = fixture();
    gave_up.header.run_id = "fixture-scripted-stats-r3".into();
    gave_up.header.repeat = 3;
    gave_up.events.retain(|e| match e {
        Event::Outcome(o) => !o.success,
        _ => true,
    });
    for event in &mut gave_up.events {
        if let Event::End(end) = event {
            end.status = EndStatus::GaveUp;
            end.iterations = 2;
        }
    }
    vec![fixture(), hostile, gave_up]
}

fn file<'a>(files: &'a [HtmlFile], path: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no {path}"))
        .text
}

/// Every `href="..."` value of a page.
fn hrefs(text: &str) -> Vec<&str> {
    text.split("href=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect()
}

#[test]
fn a_reply_with_markup_is_shown_as_text_and_no_page_has_a_script() {
    let files = render_html_report(&runs(), &[]);
    let page = file(&files, "runs/fixture-scripted-stats-r2-hostile.html");
    assert!(
        page.contains("&lt;script&gt;window.pwned = 1; alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"),
        "the reply's markup is shown escaped"
    );
    for f in &files {
        assert!(!f.text.contains("<script"), "{} has a script", f.path);
        assert!(
            !f.text.contains("<img src=x"),
            "{} has the reply's image",
            f.path
        );
        assert!(
            f.text.contains("script-src 'none'"),
            "{} allows scripts",
            f.path
        );
    }
}

#[test]
fn each_round_is_charged_as_the_error_table_charges_it() {
    let all = runs();
    let ok = charges(&all[0]);
    assert_eq!(
        ok.values().cloned().collect::<Vec<_>>(),
        [
            Charge::Llm {
                category: crate::taxonomy::Category::UnresolvedName,
                diagnostics: 2
            },
            Charge::Llm {
                category: crate::taxonomy::Category::PanicOther,
                diagnostics: 1
            },
            Charge::Worked
        ]
    );
    let gave_up = charges(&all[2]);
    assert!(
        matches!(gave_up[&2], Charge::GaveUp { .. }),
        "K2: {gave_up:?}"
    );
    for t in &all {
        let llm = charges(t)
            .values()
            .filter(|c| matches!(c, Charge::Llm { .. }))
            .count() as u32;
        assert_eq!(llm, crate::report::charged_rounds(t), "{}", t.run_id());
    }
    let files = render_html_report(&all, &[]);
    let page = file(&files, "runs/fixture-scripted-stats-r3.html");
    assert!(page.contains("<td id=\"charged-rounds\">1</td>"), "{page}");
    assert!(page.contains("Not counted as a round"), "{page}");
    assert!(page.contains("Charged to the LLM: one round of unresolved-name (2 diagnostics)."));
}

#[test]
fn every_row_links_its_runs_every_column_a_rule_and_every_link_resolves() {
    let files = render_html_report(&runs(), &[]);
    let index = file(&files, "index.html");
    let errors = &index[index.find("id=\"errors-table\"").unwrap()..];
    let errors = &errors[..errors.find("</table>").unwrap()];
    let header = &errors[..errors.find("</tr>").unwrap()];
    let cells: Vec<&str> = header
        .split("<th>")
        .skip(1)
        .map(|cell| &cell[..cell.find("</th>").unwrap()])
        .collect();
    assert_eq!(cells.len(), 18, "{header}");
    let (runs, numbers) = cells.split_last().unwrap();
    assert_eq!(*runs, "from the transcripts of");
    for cell in numbers {
        assert!(cell.contains("methodology.html#rule-"), "no rule: {cell}");
    }
    for id in [
        "fixture-scripted-stats-r1-20261128T074817Z",
        "fixture-scripted-stats-r2-hostile",
        "fixture-scripted-stats-r3",
    ] {
        assert!(
            errors.contains(&format!("href=\"runs/{id}.html\"")),
            "the error row links {id}"
        );
    }
    let paths: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let methodology = file(&files, "methodology.html");
    for f in &files {
        let base = Path::new(&f.path).parent().unwrap();
        for href in hrefs(&f.text) {
            let (target, fragment) = href.split_once('#').unwrap_or((href, ""));
            let resolved = if target.is_empty() {
                f.path.clone()
            } else {
                let joined = base.join(target);
                let mut parts: Vec<String> = Vec::new();
                for part in joined.components() {
                    match part {
                        std::path::Component::ParentDir => {
                            parts.pop();
                        }
                        std::path::Component::Normal(p) => {
                            parts.push(p.to_string_lossy().into_owned())
                        }
                        _ => {}
                    }
                }
                parts.join("/")
            };
            assert!(paths.contains(resolved.as_str()), "{}: {href}", f.path);
            if !fragment.is_empty() {
                let page = file(&files, &resolved);
                assert!(
                    page.contains(&format!("id=\"{fragment}\"")),
                    "{}: {href} names no element",
                    f.path
                );
            }
        }
    }
    assert!(methodology.contains("id=\"rule-K1\""));
    let middle = file(&files, "runs/fixture-scripted-stats-r2-hostile.html");
    assert!(middle.contains("rel=\"prev\"") && middle.contains("rel=\"next\""));
    assert!(middle.contains("<span class=\"ins\">"), "a diff is shown");
}

#[test]
fn the_first_prompt_is_folded_and_figures_are_shown() {
    let figures = [FigureEntry {
        title: "Errors per LLM".into(),
        image: "figures/errors.png".into(),
        csv: "figures/errors.csv".into(),
    }];
    let files = render_html_report(&runs()[..1], &figures);
    let page = file(
        &files,
        "runs/fixture-scripted-stats-r1-20261128T074817Z.html",
    );
    let round1 = &page[page.find("id=\"round-1\"").unwrap()..];
    assert!(
        round1.starts_with("id=\"round-1\">\n<h2>Round 1</h2>\n<h3>Request</h3>"),
        "{round1}"
    );
    assert!(round1.contains("<details><summary>user message"), "folded");
    let index = file(&files, "index.html");
    assert!(index.contains("<img src=\"figures/errors.png\""), "{index}");
}

#[test]
fn the_front_page_and_a_round_read_as_expected() {
    let files = render_html_report(&runs(), &[]);
    let index = file(&files, "index.html");
    // The shell (style sheet) is the same on every page; the body is what this pins.
    let body = &index[index.find("<body>").unwrap()..];
    insta::assert_snapshot!("index_body", body);
    let page = file(&files, "runs/fixture-scripted-stats-r3.html");
    let round = &page[page.find("<section class=\"round uncounted\"").unwrap()..];
    let round = &round[..round.find("</section>").unwrap()];
    insta::assert_snapshot!("gave_up_last_round", round);
}

/// The cells of the first body row of the table with `id`, unescaped, the runs' cell dropped.
fn html_row(page: &str, id: &str) -> Vec<String> {
    let table = &page[page.find(&format!("id=\"{id}\"")).unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    let row = table.split("<tr>").nth(2).unwrap();
    let mut cells: Vec<String> = row
        .split("<td")
        .skip(1)
        .map(|cell| {
            let cell = &cell[cell.find('>').unwrap() + 1..];
            cell[..cell.find("</td>").unwrap()].replace("&amp;", "&")
        })
        .collect();
    assert!(
        cells.pop().unwrap().contains("runs/"),
        "the last cell links runs"
    );
    cells
}

/// The cells of the Markdown table that starts after `after`: its first body row.
fn markdown_row(markdown: &str, header_starts: &str) -> Vec<String> {
    let table = &markdown[markdown.find(header_starts).unwrap()..];
    let row = table.lines().nth(2).unwrap();
    row.trim_matches('|')
        .split('|')
        .map(|cell| cell.trim().to_string())
        .collect()
}

#[test]
fn the_html_tables_show_exactly_the_markdown_tables_numbers() {
    let all = runs();
    let files = render_html_report(&all, &[]);
    let index = file(&files, "index.html");
    let errors = crate::report::render_markdown(&crate::report::aggregate(&all));
    assert_eq!(
        html_row(index, "errors-table"),
        markdown_row(&errors, "| LLM | runs |")
    );
    assert_eq!(
        html_row(index, "categories-table"),
        markdown_row(&errors, "| LLM | unresolved-name")
    );
    let stats = crate::report::render_stats_markdown(&crate::report::aggregate_stats(
        &all,
        crate::stats::BootstrapConfig::default(),
    ));
    assert_eq!(
        html_row(index, "stats-table"),
        markdown_row(&stats, "| LLM | ended runs")
    );
    assert_eq!(
        html_row(index, "success-by-table"),
        markdown_row(&stats, "| LLM | 1 |")
    );
    assert_eq!(
        html_row(index, "decay-table"),
        markdown_row(&stats, "| LLM | error class")
    );
}

#[test]
fn the_dice_table_shows_the_markdown_numbers_and_links_the_trained_runs() {
    let mut all = runs();
    all[0].events.push(crate::report::tests::training(
        "synthetic-glottis",
        Some(0.8),
        Some(0.81),
    ));
    let files = render_html_report(&all, &[]);
    let index = file(&files, "index.html");
    let dice = crate::report::render_dice_markdown(&crate::report::aggregate_dice(&all));
    assert_eq!(
        html_row(index, "dice-table"),
        markdown_row(&dice, "| LLM | dataset")
    );
    let table = &index[index.find("id=\"dice-table\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(
        table.matches("href=\"runs/").count(),
        1,
        "only the trained run: {table}"
    );
    let page = file(
        &files,
        "runs/fixture-scripted-stats-r1-20261128T074817Z.html",
    );
    assert!(
        page.contains("mean 0.800"),
        "the run page shows its training"
    );
}

#[test]
fn a_file_whose_content_does_not_match_its_hash_is_not_shown() {
    let mut run = fixture();
    for event in &mut run.events {
        if let Event::Files(files) = event {
            if files.iteration == 2 {
                files.written[0].content = Some("fn tampered() {}\n".into());
            }
        }
    }
    let files = render_html_report(&[run], &[]);
    let page = file(
        &files,
        "runs/fixture-scripted-stats-r1-20261128T074817Z.html",
    );
    assert!(
        page.contains("does not match its hash; it is not shown"),
        "{page}"
    );
    assert!(
        !page.contains("tampered"),
        "the tampered text is not shown as a file"
    );
}
