//! Shared by the integration tests: a real gateway on 127.0.0.1:0 with a temporary
//! store, a minimal HTTP client (hyper), and a signed-request builder.

use std::collections::BTreeMap;
use std::time::Duration;

use alipay_mock::crypto::{self, SignType};
use alipay_mock::keys;
use alipay_mock::protocol::charset::Charset;
use alipay_mock::protocol::response::extract_signed_node;
use alipay_mock::{Config, RunningGateway};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;

pub const APP_ID: &str = "2014072300007148";
pub const RSA2_ONLY_APP_ID: &str = "2021000000000002";
pub const AUTHQUERY: &str = "zhima.auth.info.authquery";
pub const NODE: &str = "zhima_auth_info_authquery_response";
pub const APP_PRIVATE_KEY: &str = include_str!("../../../fixtures/keys/app_private_key.pem");
pub const ALIPAY_PUBLIC_KEY: &str = include_str!("../../../fixtures/keys/alipay_public_key.pem");
pub const APP_PUBLIC_KEY: &str = include_str!("../../../fixtures/keys/app_public_key.pem");
/// The platform's private key: what signs the answers (and, in tests, a wrong app key).
pub const PLATFORM_PRIVATE_KEY: &str =
    include_str!("../../../fixtures/keys/alipay_private_key.pem");
/// A key that belongs to nobody.
pub const HOSTILE_PRIVATE_KEY: &str =
    include_str!("../../../fixtures/keys/hostile_private_key.pem");
/// The built `alipay-mock` binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_alipay-mock");
/// The API document's request example, with its two trailing spaces.
pub const DOC_BIZ_CONTENT: &str = "{\"identity_param\":\"{\\\"certType\\\":\\\"IDENTITY_CARD\\\",\\\"name\\\":\\\"张三\\\",\\\"certNo\\\":\\\"33021199003132432\\\"}\",\"identity_type\":\"2\",\"auth_category\":\"C2B\"  }";

/// A gateway the helpers can reach: a [`RunningGateway`] or a [`MockGateway`].
pub trait Listener {
    /// Where it listens.
    fn addr(&self) -> std::net::SocketAddr;
}

impl Listener for RunningGateway {
    fn addr(&self) -> std::net::SocketAddr {
        RunningGateway::addr(self)
    }
}

impl<T: Listener> Listener for std::sync::Arc<T> {
    fn addr(&self) -> std::net::SocketAddr {
        T::addr(self)
    }
}

impl Listener for alipay_mock::MockGateway {
    fn addr(&self) -> std::net::SocketAddr {
        alipay_mock::MockGateway::addr(self)
    }
}

pub async fn start() -> RunningGateway {
    RunningGateway::start(Config::ephemeral())
        .await
        .expect("gateway starts")
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body decoded in a charset.
    pub fn text(&self, charset: &str) -> String {
        Charset::from_label(charset)
            .expect("known charset")
            .decode(&self.body)
            .into_owned()
    }

    /// The body as JSON (decoded in `charset`).
    pub fn json(&self, charset: &str) -> Value {
        serde_json::from_str(&self.text(charset)).expect("JSON body")
    }

    /// The response node of the body.
    pub fn node(&self, charset: &str, node: &str) -> Value {
        self.json(charset)
            .get(node)
            .cloned()
            .unwrap_or_else(|| panic!("no {node} in {}", self.text(charset)))
    }

    /// Whether `sign` verifies with the platform public key over the node bytes exactly
    /// as sent. Panics when there is no sign.
    pub fn signature_verifies(&self, charset: &str, sign_type: SignType) -> bool {
        let text = self.text(charset);
        let (_, node_text, sign) = extract_signed_node(&text).expect("a response node");
        let sign = sign.expect("a sign");
        let key = keys::parse_public_key(ALIPAY_PUBLIC_KEY).unwrap();
        let bytes = Charset::from_label(charset)
            .unwrap()
            .encode(node_text)
            .into_owned();
        crypto::verify(&key, sign_type, &bytes, &sign)
    }

    pub fn has_sign(&self, charset: &str) -> bool {
        self.json(charset).get("sign").is_some()
    }
}

/// Sends one request: `target` is the request-target exactly as written on the request
/// line (origin form `/gateway.do?…` or absolute form `http://…`).
pub async fn send(
    gateway: &impl Listener,
    method: &str,
    target: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let headers: Vec<(&str, String)> = content_type
        .map(|ct| vec![("content-type", ct.to_owned())])
        .unwrap_or_default();
    send_with_headers(gateway, method, target, &headers, body).await
}

/// [`send`] with any headers.
pub async fn send_with_headers(
    gateway: &impl Listener,
    method: &str,
    target: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Answer {
    let exchange = async {
        let mut sender = connect(gateway).await;
        let mut request = Request::builder()
            .method(method)
            .uri(target)
            .header("host", gateway.addr().to_string());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = sender
            .send_request(request.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Answer {
            status,
            content_type,
            headers,
            body,
        }
    };
    tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .expect("the gateway answers within 20 s")
}

/// An HTTP/1.1 connection to the gateway, for tests that drive it by hand.
pub async fn connect(gateway: &impl Listener) -> SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(gateway.addr())
        .await
        .unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

/// A call signed and put in the query of a bare POST (empty body) on a new connection,
/// not yet sent: for tests that watch the connection rather than read the answer.
pub async fn unsent_post(
    gateway: &impl Listener,
    call: &Call,
) -> (SendRequest<Full<Bytes>>, Request<Full<Bytes>>) {
    let target = format!("/gateway.do?{}", form(&call.signed_params(), "utf-8"));
    let sender = connect(gateway).await;
    let request = Request::post(target)
        .header("host", "x")
        .body(Full::default())
        .unwrap();
    (sender, request)
}

/// Percent-encodes pairs as a form in a charset (`+` for spaces).
pub fn form(pairs: &BTreeMap<String, String>, charset: &str) -> String {
    let encoding = encoding_for(charset);
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    serializer.encoding_override(Some(&encoding));
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

fn encoding_for(charset: &str) -> impl Fn(&str) -> std::borrow::Cow<'_, [u8]> {
    let charset = Charset::from_label(charset).unwrap_or_else(Charset::utf8);
    move |s: &str| std::borrow::Cow::Owned(charset.encode(s).into_owned())
}

/// A request under construction: the public parameters of an authquery call, signed
/// with the fixture app key when sent.
#[derive(Debug, Clone)]
pub struct Call {
    pub params: BTreeMap<String, String>,
    pub sign_type: SignType,
    pub charset: String,
    pub private_key: String,
    /// Leave `sign` out / put this literal `sign` instead of the computed one.
    pub sign_override: Option<Option<String>>,
}

impl Call {
    pub fn authquery(biz_content: &str) -> Call {
        Call::new(AUTHQUERY).param("biz_content", biz_content)
    }

    pub fn new(method: &str) -> Call {
        let mut params = BTreeMap::new();
        for (k, v) in [
            ("app_id", APP_ID),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("timestamp", "2014-07-24 03:07:50"),
            ("version", "1.0"),
        ] {
            params.insert(k.to_owned(), v.to_owned());
        }
        Call {
            params,
            sign_type: SignType::Rsa2,
            charset: "utf-8".to_owned(),
            private_key: APP_PRIVATE_KEY.to_owned(),
            sign_override: None,
        }
    }

    pub fn param(mut self, name: &str, value: &str) -> Call {
        self.params.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn without(mut self, name: &str) -> Call {
        self.params.remove(name);
        self
    }

    pub fn sign_type(mut self, sign_type: SignType) -> Call {
        self.sign_type = sign_type;
        self.param("sign_type", sign_type.as_str())
    }

    pub fn charset(mut self, charset: &str) -> Call {
        self.charset = charset.to_owned();
        self.param("charset", charset)
    }

    pub fn app(self, app_id: &str) -> Call {
        self.param("app_id", app_id)
    }

    pub fn unsigned(mut self) -> Call {
        self.sign_override = Some(None);
        self
    }

    pub fn with_sign(mut self, sign: &str) -> Call {
        self.sign_override = Some(Some(sign.to_owned()));
        self
    }

    /// The signed parameter set (sign computed by the crate's own signer; the
    /// known-answer vectors in tests/data check that signer independently).
    pub fn signed_params(&self) -> BTreeMap<String, String> {
        let mut params = self.params.clone();
        let sign = match &self.sign_override {
            Some(explicit) => explicit.clone(),
            None => {
                let content: Vec<String> = params
                    .iter()
                    .filter(|(k, v)| !v.is_empty() && k.as_str() != "sign")
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                let bytes = Charset::from_label(&self.charset)
                    .unwrap_or_else(Charset::utf8)
                    .encode(&content.join("&"))
                    .into_owned();
                let key = keys::parse_private_key(&self.private_key).unwrap();
                Some(crypto::sign(&key, self.sign_type, &bytes).unwrap())
            }
        };
        if let Some(sign) = sign {
            params.insert("sign".to_owned(), sign);
        }
        params
    }

    /// POST with the public parameters in the query and `biz_content` in the body, the
    /// way the Java and Python SDKs send.
    pub async fn post(&self, gateway: &impl Listener) -> Answer {
        let mut query = self.signed_params();
        let mut body = BTreeMap::new();
        if let Some(biz) = query.remove("biz_content") {
            body.insert("biz_content".to_owned(), biz);
        }
        let target = format!("/gateway.do?{}", form(&query, &self.charset));
        let content_type = format!("application/x-www-form-urlencoded;charset={}", self.charset);
        send(
            gateway,
            "POST",
            &target,
            Some(&content_type),
            form(&body, &self.charset).into_bytes(),
        )
        .await
    }

    /// GET with everything in the query, the way python-alipay-sdk sends.
    pub async fn get(&self, gateway: &impl Listener) -> Answer {
        let target = format!("/gateway.do?{}", form(&self.signed_params(), &self.charset));
        send(gateway, "GET", &target, None, Vec::new()).await
    }
}

/// Calls the admin API: `path` is under `/__admin/`, `body` JSON. Returns the status
/// and the JSON answer (`Value::Null` when the body is empty).
pub async fn admin(
    gateway: &impl Listener,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    admin_with_token(gateway, method, path, body, None).await
}

/// [`admin`] with an `Authorization: Bearer` token.
pub async fn admin_with_token(
    gateway: &impl Listener,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let mut headers = vec![("content-type", "application/json".to_owned())];
    if let Some(token) = token {
        headers.push(("authorization", format!("Bearer {token}")));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default().into_bytes();
    let answer =
        send_with_headers(gateway, method, &format!("/__admin/{path}"), &headers, body).await;
    let value = if answer.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&answer.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&answer.body).into_owned()))
    };
    (answer.status, value)
}

/// Installs the global fault set through the admin API (`PUT /__admin/faults`); returns
/// the status and the JSON answer.
pub async fn set_faults(gateway: &impl Listener, faults: Value) -> (u16, Value) {
    admin(gateway, "PUT", "faults", Some(faults)).await
}

/// The fixture person 李四: name and certificate number.
pub const LISI: (&str, &str) = ("李四", "110101199001011001");

/// Creates a scenario through the admin API and asserts it was accepted (201); returns
/// the scenario as the API shows it.
pub async fn force(gateway: &impl Listener, scenario: Value) -> Value {
    let (status, created) = admin(gateway, "POST", "scenarios", Some(scenario)).await;
    assert_eq!(status, 201, "{created}");
    created
}

/// The document's example person by certificate, with a chosen category.
pub fn zhangsan(category: &str) -> String {
    format!(
        r#"{{"identity_param":"{{\"certType\":\"IDENTITY_CARD\",\"name\":\"张三\",\"certNo\":\"33021199003132432\"}}","identity_type":"2","auth_category":"{category}"}}"#
    )
}

/// A person by certificate (no `auth_category`: the gateway's default, C2B).
pub fn by_cert(name: &str, cert_no: &str) -> String {
    format!(
        r#"{{"identity_param":"{{\"certType\":\"IDENTITY_CARD\",\"name\":\"{name}\",\"certNo\":\"{cert_no}\"}}","identity_type":"2"}}"#
    )
}

/// The authquery node of a call as an app.
pub async fn query_as(gateway: &impl Listener, app_id: &str, biz_content: &str) -> Value {
    Call::authquery(biz_content)
        .app(app_id)
        .post(gateway)
        .await
        .node("utf-8", NODE)
}

/// The authquery node of a call as the default app.
pub async fn query(gateway: &impl Listener, biz_content: &str) -> Value {
    Call::authquery(biz_content)
        .post(gateway)
        .await
        .node("utf-8", NODE)
}

/// The gateway binary as a child process, killed (SIGKILL) and reaped when dropped.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary on a free port with `args` and returns it with the address it
/// printed.
pub fn spawn_serving(args: &[&str]) -> (Child, String) {
    let mut child = Child(
        std::process::Command::new(BIN)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .and_then(|w| w.strip_suffix("/gateway.do"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    (child, addr)
}
