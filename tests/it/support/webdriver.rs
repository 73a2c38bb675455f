//! A minimal WebDriver client: headless Chromium driven through chromedriver on 127.0.0.1,
//! over its HTTP API with reqwest. Self-contained, so that the HTML report's benchmark can
//! include it too.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

/// How long chromedriver may take to say it is listening.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// The flags Chromium is started with: headless, no sandbox (tests may run as root), and
/// nothing that reaches the network on its own.
const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// A program on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A running chromedriver with one browser session; both are ended on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile. `Ok(None)` where
    /// Chromium or chromedriver is not installed; `Err` where they are but do not work.
    pub fn start() -> Result<Option<Browser>, String> {
        let (Some(chromium), Some(chromedriver)) = (
            on_path(&["chromium", "chromium-browser", "google-chrome"]),
            on_path(&["chromedriver"]),
        ) else {
            return Ok(None);
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let mut driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", chromedriver.display()))?;
        // chromedriver says on stdout when it listens: wait for that line, not for a time.
        let stdout = driver.stdout.take().expect("piped");
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("started successfully") {
                    let _ = ready_tx.send(());
                }
            }
        });
        if ready_rx.recv_timeout(START_DEADLINE).is_err() {
            let _ = driver.kill();
            let _ = driver.wait();
            return Err(format!(
                "{} did not start within {START_DEADLINE:?}",
                chromedriver.display()
            ));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("no runtime: {e}"))?;
        let profile = tempfile::tempdir().map_err(|e| format!("no profile folder: {e}"))?;
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            client: reqwest::Client::new(),
            runtime,
            _profile: profile,
        };
        let created = browser.call(
            "POST",
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": {
                "goog:chromeOptions": {"binary": chromium, "args": args},
                "goog:loggingPrefs": {"browser": "ALL"},
            }}})),
        )?;
        browser.session = created["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session id in {created}"))?
            .to_string();
        browser.resize(1280, 1000)?;
        Ok(Some(browser))
    }

    fn path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// One WebDriver command; its `value`, or the error WebDriver gave.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.client.get(&url),
            "DELETE" => self.client.delete(&url),
            _ => self
                .client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.unwrap_or(json!({})).to_string()),
        };
        let text = self.runtime.block_on(async {
            let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
            response.text().await.map_err(|e| format!("{url}: {e}"))
        })?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| format!("{url}: {e}: {text}"))?;
        let value = value.get("value").cloned().unwrap_or(Value::Null);
        match value.get("error") {
            Some(error) => Err(format!("{method} {path}: {error}: {}", value["message"])),
            None => Ok(value),
        }
    }

    /// Sets the window's size in CSS pixels.
    pub fn resize(&self, width: u32, height: u32) -> Result<(), String> {
        self.call(
            "POST",
            &self.path("/window/rect"),
            Some(json!({ "width": width, "height": height })),
        )
        .map(drop)
    }

    /// Opens a local file and waits for its load event.
    pub fn open(&self, file: &Path) -> Result<(), String> {
        let url = format!("file://{}", file.display());
        self.call("POST", &self.path("/url"), Some(json!({ "url": url })))
            .map(drop)
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page; its return value.
    pub fn script(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call(
            "POST",
            &self.path("/execute/sync"),
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// The browser's console messages since the last call (chromedriver's log endpoint).
    pub fn console(&self) -> Result<Vec<Value>, String> {
        let value = self.call(
            "POST",
            &self.path("/se/log"),
            Some(json!({ "type": "browser" })),
        )?;
        Ok(value.as_array().cloned().unwrap_or_default())
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Result<Vec<u8>, String> {
        let value = self.call("GET", &self.path("/screenshot"), None)?;
        decode_base64(value.as_str().unwrap_or_default())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The session first, so that chromedriver ends its Chromium, then chromedriver.
        if !self.session.is_empty() {
            let _ = self.call("DELETE", &self.path(""), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Standard base64 (WebDriver's screenshots), padding optional.
fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            other => return Err(format!("not base64: {:?}", other as char)),
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(super::decode_base64("aGFybmVzcw==").unwrap(), b"harness");
        assert_eq!(super::decode_base64("aGFybmVzcw").unwrap(), b"harness");
        assert_eq!(super::decode_base64("iVBORw0K").unwrap(), b"\x89PNG\r\n");
        assert!(super::decode_base64("a*").is_err());
    }
}
