//! Asking a local OpenAI-compatible server what it serves, before a run starts.
//!
//! A run against a local server (llama.cpp, vLLM, Ollama) that is not running should fail at
//! once, naming the URL, and create no run folder; one that is running should say what it serves
//! (the model file, the context size) so that the transcript records it and a reply limit larger
//! than the context is warned about before hours are spent.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::transport_kind;
use super::LlmError;

/// What a local server says about itself. Every field is optional: servers differ.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The model ids `/models` lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// The context size in tokens (llama.cpp's `/props` `n_ctx`, vLLM's `max_model_len`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_tokens: Option<u64>,
    /// The name of the weights file the server loaded (llama.cpp's `model_path`, without its
    /// folder: a recording names no folder of the machine it was made on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_path: Option<String>,
    /// The server's build (llama.cpp's `build_info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
}

/// Whether `base_url` points at this machine (where a probe is cheap and a dead server common).
pub fn is_loopback(base_url: &str) -> bool {
    let rest = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(host, _port)| host),
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1") || host.starts_with("127.")
}

/// Asks the server at `base_url` (ending in `/v1`, say) for its models, then for llama.cpp's
/// `/props` beside it. Fails only when `/models` cannot be had at all.
pub fn probe(base_url: &str, timeout: Duration) -> Result<ServerInfo, LlmError> {
    let base_url = base_url.trim_end_matches('/');
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| LlmError::Setup {
            base_url: base_url.to_owned(),
            problem: format!("no async runtime: {error}"),
        })?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|error| LlmError::Setup {
                base_url: base_url.to_owned(),
                problem: error.to_string(),
            })?;
        let models = get_json(&client, &format!("{base_url}/models"), base_url).await?;
        let mut info = ServerInfo::default();
        read_models(&models, &mut info);
        // llama.cpp serves `/props` at the root, beside `/v1`.
        let root = base_url.strip_suffix("/v1").unwrap_or(base_url);
        if let Ok(props) = get_json(&client, &format!("{root}/props"), base_url).await {
            read_props(&props, &mut info);
        }
        Ok(info)
    })
}

async fn get_json(client: &reqwest::Client, url: &str, base_url: &str) -> Result<Value, LlmError> {
    let transport = |error: reqwest::Error| LlmError::Transport {
        base_url: base_url.to_owned(),
        kind: transport_kind(&error),
        source: Box::new(error),
    };
    let response = client.get(url).send().await.map_err(transport)?;
    let status = response.status();
    let body = response.text().await.map_err(transport)?;
    if !status.is_success() {
        return Err(LlmError::api(
            base_url,
            Some(status.as_u16()),
            format!("GET {url} answered HTTP {}", status.as_u16()),
        ));
    }
    serde_json::from_str(&body).map_err(|error| LlmError::BadAnswer {
        base_url: base_url.to_owned(),
        detail: format!("GET {url} did not answer JSON: {error}"),
    })
}

fn read_models(body: &Value, info: &mut ServerInfo) {
    let Some(data) = body.get("data").and_then(Value::as_array) else {
        return;
    };
    for model in data {
        if let Some(id) = model.get("id").and_then(Value::as_str) {
            info.models.push(id.to_owned());
        }
        // vLLM says its context here.
        if let Some(length) = model.get("max_model_len").and_then(Value::as_u64) {
            info.context_tokens.get_or_insert(length);
        }
    }
}

fn read_props(body: &Value, info: &mut ServerInfo) {
    let n_ctx = body
        .pointer("/default_generation_settings/n_ctx")
        .or_else(|| body.get("n_ctx"))
        .and_then(Value::as_u64);
    if let Some(n_ctx) = n_ctx {
        info.context_tokens = Some(n_ctx);
    }
    if let Some(path) = body.get("model_path").and_then(Value::as_str) {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        info.model_path = Some(name.to_owned());
    }
    if let Some(build) = body.get("build_info").and_then(Value::as_str) {
        info.build = Some(build.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn loopback_hosts_are_recognised() {
        for url in [
            "http://127.0.0.1:8080/v1",
            "http://localhost:11434/v1",
            "http://[::1]:8000/v1",
            "http://127.0.1.1/v1",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in ["https://api.openai.com/v1", "http://10.0.0.2:8000/v1"] {
            assert!(!is_loopback(url), "{url}");
        }
    }

    #[test]
    fn llama_cpp_and_vllm_answers_are_read() {
        let mut info = ServerInfo::default();
        read_models(
            &json!({"data": [{"id": "qwen05.gguf"}, {"id": "m2", "max_model_len": 32768}]}),
            &mut info,
        );
        assert_eq!(info.models, ["qwen05.gguf", "m2"]);
        assert_eq!(info.context_tokens, Some(32768));
        read_props(
            &json!({"default_generation_settings": {"n_ctx": 8192}, "model_path": "/m/q.gguf", "build_info": "b1-571d0d5"}),
            &mut info,
        );
        assert_eq!(info.context_tokens, Some(8192));
        assert_eq!(info.model_path.as_deref(), Some("q.gguf"));
        assert_eq!(info.build.as_deref(), Some("b1-571d0d5"));
    }
}
