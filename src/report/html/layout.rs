//! The page shell every report page shares: inline style sheet, no script, and a policy that
//! forbids scripts even if some text slipped through unescaped.

use super::escape::escape;

/// The style sheet, inline so that each page stands alone.
const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1800px;padding:0 1.5em 3em;color:#1d1d1f;background:#fff}
nav{padding:.6em 0;border-bottom:1px solid #ddd;margin-bottom:1em}
nav a{margin-right:1.2em}
a{color:#0a58ca}
h1{font-size:1.6em;margin:.6em 0 .3em}
h2{font-size:1.25em;margin:1.6em 0 .4em;border-bottom:1px solid #eee}
h3{font-size:1.05em;margin:1.1em 0 .3em}
table{border-collapse:collapse;margin:.5em 0 1em;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d8d8d8;padding:.2em .4em;vertical-align:top}
.wide table{font-size:13px}
th{background:#f4f4f6;text-align:left;font-weight:600}
td.n{text-align:right}
.wide{overflow-x:auto}
th a.rule,td a.rule{font-size:.8em;font-weight:normal;text-decoration:none;color:#6b6b6b}
pre{background:#f7f7f9;border:1px solid #e4e4e7;padding:.5em .7em;overflow-x:auto;white-space:pre-wrap;word-break:break-word;margin:.3em 0;font-size:12.5px}
details{margin:.3em 0}
summary{cursor:pointer;color:#333}
.round{border-left:3px solid #ccc;padding-left:1em;margin:1.5em 0}
.round.ok{border-color:#2e8540}
.round.llm{border-color:#c0392b}
.round.infra{border-color:#8e6cbf}
.round.uncounted{border-color:#d4a017}
.verdict{font-weight:600}
.ins{color:#1a7f37;background:#eefbf0}
.del{color:#b42318;background:#fdf0ef}
.hunk{color:#6f42c1}
.meta{color:#555}
.runs a{margin-right:.35em}
figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}
figure img{max-width:540px;border:1px solid #ddd}
footer{margin-top:3em;color:#777;font-size:.85em}
";

/// A whole HTML document. `root` is the way back to the report's folder from the page
/// (`""` or `"../"`); `nav` is extra navigation links, already HTML.
pub(crate) fn page(title: &str, root: &str, nav: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + STYLE.len() + 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape(title)));
    out.push_str("<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<nav>");
    out.push_str(&format!(
        "<a href=\"{root}index.html\">Report</a><a href=\"{root}index.html#runs\">Runs</a><a href=\"{root}methodology.html\">Methodology</a>{nav}"
    ));
    out.push_str("</nav>\n");
    out.push_str(body);
    out.push_str("\n<footer>Written by <code>harness report html</code> from the recorded transcripts alone; every number follows a rule of the methodology.</footer>\n</body>\n</html>\n");
    out
}
