//! What each verb of `alipay-mock admin` means on the wire: the [`ApiRequest`] the
//! client's builders ([`crate::client::calls`]) make for it, without any I/O but the FILE
//! reader the caller passes in, so every verb is tested without a server.

use serde::de::IgnoredAny;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{
    AdminCommand, AppCommand, AuthCommand, ClockCommand, FaultCommand, ForceArgs, IdentityCommand,
    RecordCommand, RequestsCommand, ScenarioCommand,
};
use crate::admin::Grant;
use crate::client::calls::{self, ApiRequest, Collection, RequestsQuery};
use crate::clock::ClockSetting;
use crate::control::scenarios::{ForcedAnswer, ForcedError, Match, Outcome, ScenarioRequest};

/// The FILE reader: the text of a FILE argument (`-` for stdin).
type Reader<'a> = &'a mut dyn FnMut(&str) -> Result<String, String>;

/// A builder's failure to write a body of the crate's own types (not expected: they all
/// serialise).
fn unwritable(e: serde_json::Error) -> String {
    format!("cannot write the request body: {e}")
}

impl AdminCommand {
    /// The admin call this verb makes. `read` returns the text of a FILE argument
    /// (`-` for stdin); bodies are checked to be JSON before anything is sent.
    pub fn request(&self, read: Reader<'_>) -> Result<ApiRequest, String> {
        Ok(match self {
            AdminCommand::Ready => calls::ready(),
            AdminCommand::Health => calls::health(),
            AdminCommand::Apps(AppCommand::Record(verb)) => verb.request(Collection::Apps, read)?,
            AdminCommand::Apps(AppCommand::SetAesKey { app_id, key }) => {
                calls::set_aes_key(app_id, Some(key)).map_err(unwritable)?
            }
            AdminCommand::Apps(AppCommand::ClearAesKey { app_id }) => {
                calls::set_aes_key(app_id, None).map_err(unwritable)?
            }
            AdminCommand::Identities(IdentityCommand::Record(verb)) => {
                verb.request(Collection::Identities, read)?
            }
            AdminCommand::Identities(IdentityCommand::SetState { id, state }) => {
                calls::set_state(id, *state).map_err(unwritable)?
            }
            AdminCommand::Auth(verb) => verb.request()?,
            AdminCommand::Scenarios(verb) => match verb {
                ScenarioCommand::List { app_id } => calls::scenarios(app_id.as_deref()),
                ScenarioCommand::Get { id } => calls::scenario(id),
                ScenarioCommand::Create { file } => {
                    calls::create_scenario_json(json_input(read, file)?)
                }
                ScenarioCommand::Delete { id } => calls::delete_scenario(id),
                ScenarioCommand::Clear { app_id } => calls::clear_scenarios(app_id.as_deref()),
                ScenarioCommand::Force(force) => {
                    calls::create_scenario(&force.scenario_request()).map_err(unwritable)?
                }
            },
            AdminCommand::Faults(verb) => match verb {
                FaultCommand::Get { app_id } => calls::faults(app_id.as_deref()),
                FaultCommand::Set { file, app_id } => {
                    calls::set_faults_json(app_id.as_deref(), json_input(read, file)?)
                }
                FaultCommand::Clear { app_id } => calls::clear_faults(app_id.as_deref()),
            },
            AdminCommand::Requests(requests) => match &requests.command {
                Some(RequestsCommand::Clear { app_id }) => calls::clear_requests(app_id.as_deref()),
                None => calls::requests(&RequestsQuery {
                    method: requests.method.clone(),
                    app_id: requests.app_id.clone(),
                    outcome: requests.outcome.clone(),
                    since: requests.since.clone(),
                    limit: requests.limit,
                }),
            },
            AdminCommand::Reset { app_id } => calls::reset(app_id.as_deref()),
            AdminCommand::Clock(verb) => match verb {
                ClockCommand::Get => calls::clock(),
                ClockCommand::Real => {
                    calls::set_clock(&ClockSetting::default()).map_err(unwritable)?
                }
                ClockCommand::Freeze { at } => {
                    let frozen_at = OffsetDateTime::parse(at, &Rfc3339).map_err(|_| {
                        format!("{at:?} is not an RFC 3339 time (e.g. 2026-01-01T10:00:00+08:00)")
                    })?;
                    calls::set_clock(&ClockSetting {
                        frozen_at: Some(frozen_at),
                        offset_seconds: None,
                    })
                    .map_err(unwritable)?
                }
                ClockCommand::Offset { seconds } => calls::set_clock(&ClockSetting {
                    frozen_at: None,
                    offset_seconds: Some(*seconds),
                })
                .map_err(unwritable)?,
            },
        })
    }
}

impl RecordCommand {
    /// The call on `collection`.
    fn request(&self, collection: Collection, read: Reader<'_>) -> Result<ApiRequest, String> {
        Ok(match self {
            RecordCommand::List => collection.list(),
            RecordCommand::Get { id } => collection.get(id),
            RecordCommand::Create { file } => collection.create(json_input(read, file)?),
            RecordCommand::Update { id, file } => collection.replace(id, json_input(read, file)?),
            RecordCommand::Patch { id, file } => collection.patch(id, json_input(read, file)?),
            RecordCommand::Delete { id } => collection.delete(id),
        })
    }
}

impl AuthCommand {
    fn request(&self) -> Result<ApiRequest, String> {
        Ok(match self {
            AuthCommand::List { app_id, identity } => {
                calls::authorizations(app_id.as_deref(), identity.as_deref())
            }
            AuthCommand::Grant {
                app_id,
                identity,
                category,
                open_id,
            } => calls::grant(&Grant {
                app_id: app_id.clone(),
                identity: identity.clone(),
                auth_category: *category,
                open_id: open_id.clone(),
            })
            .map_err(unwritable)?,
            AuthCommand::Revoke {
                app_id,
                identity,
                category,
            } => calls::revoke(app_id, identity, *category),
        })
    }
}

impl ForceArgs {
    /// The scenario these flags describe, as the server parses it.
    pub fn scenario_request(&self) -> ScenarioRequest {
        // clap's `outcome` group guarantees exactly one of --error and --authorized.
        let outcome = match (&self.error, self.authorized) {
            (Some(error), _) => Outcome::Error(ForcedError {
                error: error.clone(),
            }),
            (None, authorized) => Outcome::Answer(ForcedAnswer {
                authorized: authorized.unwrap_or_default(),
                open_id: self.open_id.clone(),
            }),
        };
        ScenarioRequest {
            matcher: Match {
                method: self.method.clone(),
                app_id: self.app_id.clone(),
                identity: self.identity.clone(),
            },
            times: self.times,
            nth: self.nth,
            for_seconds: self.for_seconds,
            outcome,
        }
    }
}

/// The text of FILE, once it is known to be JSON (sent as written, so the server sees
/// exactly what the user wrote).
fn json_input(read: Reader<'_>, file: &str) -> Result<String, String> {
    let text = read(file)?;
    serde_json::from_str::<IgnoredAny>(&text).map_err(|e| {
        let name = if file == "-" { "stdin" } else { file };
        format!("{name} is not JSON: {e}")
    })?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser, Subcommand};
    use serde_json::{json, Value};

    use super::super::AdminArgs;
    use super::*;
    use crate::client::calls::HttpMethod;

    /// The binary's shape: `alipay-mock admin …`.
    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Root,
    }

    #[derive(Debug, Subcommand)]
    enum Root {
        Admin(AdminArgs),
    }

    fn parse(argv: &[&str]) -> Result<AdminArgs, clap::Error> {
        let argv = ["alipay-mock", "admin"].iter().chain(argv);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Root::Admin(args) => args,
        })
    }

    /// The request of a verb, FILE arguments read as `{"file": NAME}`.
    fn request(argv: &[&str]) -> ApiRequest {
        let args = parse(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        let mut read = |file: &str| Ok(json!({ "file": file }).to_string());
        args.command.request(&mut read).unwrap()
    }

    /// (method, target, body as JSON) of a verb.
    fn wire(argv: &[&str]) -> (HttpMethod, String, Option<Value>) {
        let r = request(argv);
        let body = r.body.map(|b| serde_json::from_str(&b).unwrap());
        (r.method, r.target, body)
    }

    fn no_body(method: HttpMethod, target: &str) -> (HttpMethod, String, Option<Value>) {
        (method, target.to_owned(), None)
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn aes_key_verbs_patch_the_app() {
        let one = "/__admin/apps/2021000000000002".to_owned();
        assert_eq!(
            wire(&[
                "apps",
                "set-aes-key",
                "2021000000000002",
                "mRpcDcfCIHfPn/09B9QiJg=="
            ]),
            (
                HttpMethod::Patch,
                one.clone(),
                Some(json!({ "aes_key": "mRpcDcfCIHfPn/09B9QiJg==" }))
            )
        );
        assert_eq!(
            wire(&["apps", "clear-aes-key", "2021000000000002"]),
            (HttpMethod::Patch, one, Some(json!({ "aes_key": null })))
        );
    }

    #[test]
    fn status_verbs_are_plain_gets() {
        assert_eq!(wire(&["ready"]), no_body(HttpMethod::Get, "/__admin/ready"));
        assert_eq!(
            wire(&["health"]),
            no_body(HttpMethod::Get, "/__admin/health")
        );
    }

    #[test]
    fn record_verbs_map_to_the_collection_and_send_the_file_as_the_body() {
        let file = Some(json!({ "file": "app.json" }));
        for (collection, id, encoded) in [
            ("apps", "2014072300007148", "2014072300007148"),
            ("identities", "zhang san/1", "zhang%20san%2F1"),
        ] {
            let one = format!("/__admin/{collection}/{encoded}");
            let all = format!("/__admin/{collection}");
            assert_eq!(wire(&[collection, "list"]), no_body(HttpMethod::Get, &all));
            assert_eq!(
                wire(&[collection, "get", id]),
                no_body(HttpMethod::Get, &one)
            );
            assert_eq!(
                wire(&[collection, "create", "app.json"]),
                (HttpMethod::Post, all.clone(), file.clone())
            );
            assert_eq!(
                wire(&[collection, "update", id, "app.json"]),
                (HttpMethod::Put, one.clone(), file.clone())
            );
            assert_eq!(
                wire(&[collection, "patch", id, "app.json"]),
                (HttpMethod::Patch, one.clone(), file.clone())
            );
            assert_eq!(
                wire(&[collection, "delete", id]),
                no_body(HttpMethod::Delete, &one)
            );
        }
    }

    #[test]
    fn a_dash_reads_the_body_from_stdin_through_the_same_reader() {
        let (_, _, body) = wire(&["apps", "create", "-"]);
        assert_eq!(body, Some(json!({ "file": "-" })));
    }

    #[test]
    fn a_file_that_is_not_json_is_refused_before_anything_is_sent() {
        let args = parse(&["faults", "set", "-"]).unwrap();
        let mut read = |_: &str| Ok("seed: 7".to_owned());
        let err = args.command.request(&mut read).unwrap_err();
        assert!(err.starts_with("stdin is not JSON"), "{err}");
        let args = parse(&["apps", "create", "app.json"]).unwrap();
        let mut unreadable = |file: &str| Err(format!("cannot read {file}"));
        assert_eq!(
            args.command.request(&mut unreadable).unwrap_err(),
            "cannot read app.json"
        );
    }

    #[test]
    fn a_body_is_sent_as_written() {
        let args = parse(&["faults", "set", "f.json"]).unwrap();
        let text = "{ \"seed\": 18446744073709551615 }\n";
        let mut read = |_: &str| Ok(text.to_owned());
        assert_eq!(args.command.request(&mut read).unwrap().body.unwrap(), text);
    }

    #[test]
    fn set_state_patches_only_the_state() {
        assert_eq!(
            wire(&["identities", "set-state", "zhangsan", "paused"]),
            (
                HttpMethod::Patch,
                "/__admin/identities/zhangsan".to_owned(),
                Some(json!({ "state": "paused" }))
            )
        );
    }

    #[test]
    fn an_unknown_state_is_refused_with_the_known_ones() {
        let err = parse(&["identities", "set-state", "zhangsan", "frozen"]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("frozen") && text.contains("zhima_not_opened"),
            "{text}"
        );
    }

    #[test]
    fn auth_verbs_put_filters_in_the_query_and_grants_in_the_body() {
        assert_eq!(
            wire(&["auth", "list"]),
            no_body(HttpMethod::Get, "/__admin/authorizations")
        );
        assert_eq!(
            wire(&["auth", "list", "--identity", "lisi"]),
            no_body(HttpMethod::Get, "/__admin/authorizations?identity=lisi")
        );
        assert_eq!(
            wire(&["auth", "grant", "--app-id", "A", "--identity", "lisi"]),
            (
                HttpMethod::Post,
                "/__admin/authorizations".to_owned(),
                Some(json!({ "app_id": "A", "identity": "lisi" }))
            )
        );
        assert_eq!(
            wire(&[
                "auth",
                "grant",
                "--app-id",
                "A",
                "--identity",
                "lisi",
                "--category",
                "C2ConB",
                "--open-id",
                "2088000000000042"
            ]),
            (
                HttpMethod::Post,
                "/__admin/authorizations".to_owned(),
                Some(json!({
                    "app_id": "A", "identity": "lisi",
                    "auth_category": "C2ConB", "open_id": "2088000000000042"
                }))
            )
        );
        assert_eq!(
            wire(&[
                "auth",
                "revoke",
                "--app-id",
                "A",
                "--identity",
                "lisi",
                "--category",
                "B2B"
            ]),
            no_body(
                HttpMethod::Delete,
                "/__admin/authorizations?app_id=A&identity=lisi&auth_category=B2B"
            )
        );
    }

    #[test]
    fn grant_and_revoke_need_both_app_and_identity_and_a_known_category() {
        assert!(parse(&["auth", "grant", "--app-id", "A"]).is_err());
        assert!(parse(&["auth", "revoke", "--identity", "lisi"]).is_err());
        assert!(parse(&[
            "auth",
            "grant",
            "--app-id",
            "A",
            "--identity",
            "I",
            "--category",
            "c2b"
        ])
        .is_err());
    }

    #[test]
    fn scenario_verbs_map_to_scenarios() {
        assert_eq!(
            wire(&["scenarios", "list", "--app-id", "A"]),
            no_body(HttpMethod::Get, "/__admin/scenarios?app_id=A")
        );
        assert_eq!(
            wire(&["scenarios", "get", "s1"]),
            no_body(HttpMethod::Get, "/__admin/scenarios/s1")
        );
        assert_eq!(
            wire(&["scenarios", "create", "s.json"]),
            (
                HttpMethod::Post,
                "/__admin/scenarios".to_owned(),
                Some(json!({ "file": "s.json" }))
            )
        );
        assert_eq!(
            wire(&["scenarios", "delete", "s1"]),
            no_body(HttpMethod::Delete, "/__admin/scenarios/s1")
        );
        assert_eq!(
            wire(&["scenarios", "clear"]),
            no_body(HttpMethod::Delete, "/__admin/scenarios")
        );
    }

    #[test]
    fn force_error_builds_a_scenario_request_with_only_the_flags_given() {
        assert_eq!(
            wire(&[
                "scenarios",
                "force",
                "--error",
                "isp.unknow-error",
                "--app-id",
                "A",
                "--method",
                "zhima.auth.info.authquery",
                "--identity",
                "zhangsan",
                "--times",
                "3"
            ]),
            (
                HttpMethod::Post,
                "/__admin/scenarios".to_owned(),
                Some(json!({
                    "match": {
                        "method": "zhima.auth.info.authquery",
                        "app_id": "A",
                        "identity": "zhangsan"
                    },
                    "times": 3,
                    "outcome": { "error": "isp.unknow-error" }
                }))
            )
        );
        let (_, _, body) = wire(&["scenarios", "force", "--error", "ZM_ACCOUNT_PAUSE"]);
        assert_eq!(
            body,
            Some(json!({ "match": {}, "outcome": { "error": "ZM_ACCOUNT_PAUSE" } }))
        );
    }

    #[test]
    fn force_authorized_carries_the_open_id_and_the_duration() {
        let (_, _, body) = wire(&[
            "scenarios",
            "force",
            "--authorized",
            "true",
            "--open-id",
            "2088",
            "--nth",
            "2",
        ]);
        assert_eq!(
            body,
            Some(json!({
                "match": {}, "nth": 2,
                "outcome": { "authorized": true, "open_id": "2088" }
            }))
        );
        let (_, _, body) = wire(&[
            "scenarios",
            "force",
            "--authorized",
            "false",
            "--for-seconds",
            "60",
        ]);
        assert_eq!(
            body,
            Some(json!({ "match": {}, "for_seconds": 60, "outcome": { "authorized": false } }))
        );
    }

    #[test]
    fn force_needs_exactly_one_outcome_and_at_most_one_duration() {
        for argv in [
            &["scenarios", "force"][..],
            &["scenarios", "force", "--error", "X", "--authorized", "true"],
            &[
                "scenarios",
                "force",
                "--error",
                "X",
                "--times",
                "1",
                "--nth",
                "2",
            ],
            &[
                "scenarios",
                "force",
                "--error",
                "X",
                "--nth",
                "1",
                "--for-seconds",
                "2",
            ],
            &["scenarios", "force", "--error", "X", "--open-id", "2088"],
            &["scenarios", "force", "--open-id", "2088"],
            &["scenarios", "force", "--error", "X", "--times", "0"],
            &["scenarios", "force", "--authorized", "yes"],
        ] {
            assert!(parse(argv).is_err(), "{argv:?} was accepted");
        }
    }

    #[test]
    fn fault_verbs_are_scoped_by_app_id() {
        assert_eq!(
            wire(&["faults", "get"]),
            no_body(HttpMethod::Get, "/__admin/faults")
        );
        assert_eq!(
            wire(&["faults", "set", "f.json", "--app-id", "A"]),
            (
                HttpMethod::Put,
                "/__admin/faults?app_id=A".to_owned(),
                Some(json!({ "file": "f.json" }))
            )
        );
        assert_eq!(
            wire(&["faults", "clear", "--app-id", "A"]),
            no_body(HttpMethod::Delete, "/__admin/faults?app_id=A")
        );
    }

    #[test]
    fn requests_lists_with_encoded_filters_and_clear_deletes() {
        assert_eq!(
            wire(&["requests"]),
            no_body(HttpMethod::Get, "/__admin/requests")
        );
        assert_eq!(
            wire(&[
                "requests",
                "--method",
                "zhima.auth.info.authquery",
                "--app-id",
                "A",
                "--outcome",
                "isv.invalid-signature",
                "--since",
                "2024-05-01T12:00:00+08:00",
                "--limit",
                "5"
            ]),
            no_body(
                HttpMethod::Get,
                "/__admin/requests?method=zhima.auth.info.authquery&app_id=A\
                 &outcome=isv.invalid-signature&since=2024-05-01T12%3A00%3A00%2B08%3A00&limit=5"
            )
        );
        assert_eq!(
            wire(&["requests", "clear", "--app-id", "A"]),
            no_body(HttpMethod::Delete, "/__admin/requests?app_id=A")
        );
    }

    #[test]
    fn requests_refuses_a_since_that_is_not_rfc3339() {
        let err = parse(&["requests", "--since", "2024-05-01 12:00:00"]).unwrap_err();
        assert!(err.to_string().contains("RFC 3339"), "{err}");
    }

    #[test]
    fn reset_is_a_post_scoped_by_app_id() {
        assert_eq!(
            wire(&["reset"]),
            no_body(HttpMethod::Post, "/__admin/reset")
        );
        assert_eq!(
            wire(&["reset", "--app-id", "2014072300007148"]),
            no_body(HttpMethod::Post, "/__admin/reset?app_id=2014072300007148")
        );
    }

    #[test]
    fn url_and_token_are_accepted_before_or_after_the_verb() {
        let args = parse(&["--url", "http://h:1", "apps", "list", "--token", "t"]).unwrap();
        assert_eq!(args.url.as_deref(), Some("http://h:1"));
        assert_eq!(args.token.as_deref(), Some("t"));
    }
}
