//! Headless Chromium driven over WebDriver: Debian's `chromium` and `chromedriver`
//! (package `chromium-driver`), with fantoccini as the WebDriver client.
//!
//! Chromium starts with a fresh empty profile and every background service off
//! (`--disable-background-networking`, `--disable-component-update`, `--disable-sync`,
//! `--disable-quic`, `--no-first-run`), so it never waits on the network of a closed
//! machine. The browser and the driver are stopped when [`Browser`] is dropped, also
//! when a test panics.

#![allow(dead_code)]

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Chromium and chromedriver are, or why the browser tests cannot run.
pub fn find_browser() -> Result<(PathBuf, PathBuf), String> {
    let find = |names: &[&str]| -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        for dir in std::env::split_paths(&path) {
            for n in names {
                let p = dir.join(n);
                if p.is_file() {
                    return Some(p);
                }
            }
        }
        None
    };
    let chromium = std::env::var_os("LEDGER_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| find(&["chromium", "chromium-browser"]))
        .ok_or("no `chromium` on PATH (Debian: apt-get install chromium chromium-driver)")?;
    let driver = std::env::var_os("LEDGER_CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| find(&["chromedriver"]))
        .ok_or("no `chromedriver` on PATH (Debian: apt-get install chromium-driver)")?;
    Ok((chromium, driver))
}

/// One browser session.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

/// A raw WebDriver command (for chromedriver's extensions fantoccini does not wrap).
#[derive(Debug)]
struct Raw {
    path: String,
    body: Value,
}

impl WebDriverCompatibleCommand for Raw {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/{}", session.unwrap_or(""), self.path))
    }
    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// A console message of the page.
#[derive(Debug, Clone)]
pub struct ConsoleEntry {
    /// `SEVERE`, `WARNING`, `INFO`, ...
    pub level: String,
    /// The message as Chromium logs it.
    pub message: String,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session with a window
    /// of `width` x `height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        let (chromium, driver_bin) = find_browser().expect("browser");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-extensions".into(),
            "--disable-dev-shm-usage".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(caps);
        let client = tokio::time::timeout(
            Duration::from_secs(60),
            builder.connect(&format!("http://127.0.0.1:{port}")),
        )
        .await
        .expect("chromium session within 60 s")
        .expect("chromium session");
        let session = client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let b = Browser {
            client,
            driver,
            port,
            session,
            _profile: profile,
        };
        b.set_viewport(width, height, false).await;
        b
    }

    /// Sets the page's viewport (`mobile`: a phone's, with touch and the viewport meta
    /// tag honoured) through the DevTools protocol.
    pub async fn set_viewport(&self, width: u32, height: u32, mobile: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        )
        .await;
    }

    /// Runs a DevTools protocol command (chromedriver's `goog/cdp/execute`).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.client
            .issue_cmd(Raw {
                path: "goog/cdp/execute".into(),
                body: json!({ "cmd": cmd, "params": params }),
            })
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"))
    }

    /// The console messages since the last call (chromedriver's browser log).
    pub async fn console(&self) -> Vec<ConsoleEntry> {
        let v = self
            .client
            .issue_cmd(Raw {
                path: "se/log".into(),
                body: json!({ "type": "browser" }),
            })
            .await
            .expect("browser log");
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| ConsoleEntry {
                        level: e["level"].as_str().unwrap_or("").to_string(),
                        message: e["message"].as_str().unwrap_or("").to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Runs a script in the page and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `expr` (a JavaScript expression) is truthy.
    pub async fn wait_for(&self, what: &str, expr: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let script = format!("try {{ return !!({expr}); }} catch (e) {{ return false; }}");
        loop {
            if self.js(&script, vec![]).await == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                let url = self.path().await;
                let text = self
                    .js(
                        "return document.querySelector('main') ? document.querySelector('main').innerText.slice(0, 600) : ''",
                        vec![],
                    )
                    .await;
                panic!(
                    "timed out after {timeout:?} waiting for {what} (at {url}); page says:\n{text}"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the explorer has rendered the page at the current URL.
    pub async fn ready(&self) {
        self.wait_for(
            "the explorer page to render",
            "document.documentElement.dataset.ready === '1'",
            Duration::from_secs(20),
        )
        .await;
    }

    /// Loads `url` and waits for the explorer to render it.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
        self.ready().await;
    }

    /// `location.pathname + location.search`.
    pub async fn path(&self) -> String {
        self.js("return location.pathname + location.search", vec![])
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// The text of the first element matching `css` (`None` if there is none).
    pub async fn text(&self, css: &str) -> Option<String> {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null",
            vec![json!(css)],
        )
        .await
        .as_str()
        .map(str::to_string)
    }

    /// The value of `[data-field=NAME]` inside `#scope`.
    pub async fn field(&self, scope: &str, name: &str) -> String {
        match self
            .text(&format!("#{scope} [data-field=\"{name}\"]"))
            .await
        {
            Some(t) => t,
            None => {
                let page = self
                    .js(
                        "return document.querySelector('main').innerText.slice(0, 800)",
                        vec![],
                    )
                    .await;
                panic!(
                    "no field {name} in #{scope} at {}; the page says:\n{}",
                    self.path().await,
                    page.as_str().unwrap_or("")
                )
            }
        }
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> usize {
        self.js(
            "return document.querySelectorAll(arguments[0]).length",
            vec![json!(css)],
        )
        .await
        .as_u64()
        .unwrap_or(0) as usize
    }

    /// Saves a PNG screenshot of the viewport.
    pub async fn screenshot(&self, path: &std::path::Path) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Saves a PNG screenshot of the whole page (not just the viewport).
    pub async fn screenshot_full(&self, path: &std::path::Path) {
        let v = self
            .cdp(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await;
        let data = v["data"].as_str().expect("screenshot data");
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64");
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Ends the session (Chromium exits) and stops chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session with a plain HTTP request (Drop cannot await), so chromedriver
        // stops Chromium, then stops chromedriver.
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let req = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session, self.port
            );
            if s.write_all(req.as_bytes()).is_ok() {
                let mut buf = Vec::new();
                let _ = s.read_to_end(&mut buf);
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A plain HTTP/1.1 request to the node (for headers the browser does not expose).
/// Returns the status line, the headers (lowercase names) and the body.
pub fn http(
    method: &str,
    url: &str,
    extra: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut s = TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP head");
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let body = buf[split + 4..].to_vec();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body)
}

/// The value of a header in an [`http`] answer.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
