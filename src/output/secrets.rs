//! Passwords never appear in what qhmp echoes (dry runs, the QMP a lesson
//! shows): the request is printed with each secret as `********`.

use serde_json::Value;

/// What a secret is shown as.
pub const MASK: &str = "********";

/// Members whose value is a secret, in any command's arguments.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key.contains("passwd") || key.ends_with("secret")
}

/// A copy of a QMP request with its secrets masked: password members
/// (`set_password`, `change-vnc-password`, ...) and the value of a
/// `qom-set` whose property names a password or secret.
pub fn masked_request(request: &Value) -> Value {
    let mut out = request.clone();
    let command = request.get("execute").and_then(Value::as_str);
    if let Some(Value::Object(args)) = out.get_mut("arguments") {
        if command == Some("qom-set") {
            let property = args.get("property").and_then(Value::as_str);
            let secret = property
                .map(str::to_ascii_lowercase)
                .is_some_and(|p| p.contains("pass") || p.contains("secret"));
            if secret {
                if let Some(v) = args.get_mut("value") {
                    *v = Value::String(MASK.into());
                }
            }
        }
        for (key, value) in args.iter_mut() {
            if is_secret_key(key) && value.is_string() {
                *value = Value::String(MASK.into());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn passwords_are_masked_and_the_rest_kept() {
        let r = json!({"execute": "set_password", "arguments": {"protocol": "vnc", "password": "hunter2"}});
        assert_eq!(
            masked_request(&r),
            json!({"execute": "set_password", "arguments": {"protocol": "vnc", "password": MASK}})
        );
        let q = json!({"execute": "qom-set", "arguments": {"path": "/objects/s", "property": "passphrase", "value": "x"}});
        assert_eq!(masked_request(&q)["arguments"]["value"], MASK);
        let plain = json!({"execute": "eject", "arguments": {"device": "ide1-cd0"}});
        assert_eq!(masked_request(&plain), plain);
    }
}
