//! Typed, panic-free access to QMP reply objects for the classic renderers.
//!
//! Every failure names the renderer and the member that was missing or of
//! the wrong type, so an unexpected reply shape is easy to diagnose.

use crate::render::{QmpErrorReply, RenderError, Reply};
use serde_json::{Map, Value};

/// A JSON object inside a reply, read on behalf of one renderer.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    renderer: &'a str,
    object: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    /// Wraps `value`, which must be a JSON object.
    pub fn new(renderer: &'a str, value: &'a Value) -> Result<Self, RenderError> {
        match value.as_object() {
            Some(object) => Ok(Fields { renderer, object }),
            None => Err(bad_reply(
                renderer,
                format!("expected an object, got {value}"),
            )),
        }
    }

    pub fn renderer(&self) -> &'a str {
        self.renderer
    }

    pub fn has(&self, key: &str) -> bool {
        self.object.get(key).is_some_and(|v| !v.is_null())
    }

    /// A member as raw JSON (absent or null: `None`).
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.get(key)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key).filter(|v| !v.is_null())
    }

    fn missing(&self, key: &str) -> RenderError {
        bad_reply(self.renderer, format!("member '{key}' is missing"))
    }

    fn wrong(&self, key: &str, what: &str) -> RenderError {
        bad_reply(self.renderer, format!("member '{key}' is not {what}"))
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, RenderError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a string")),
        }
    }

    pub fn str(&self, key: &str) -> Result<&'a str, RenderError> {
        self.opt_str(key)?.ok_or_else(|| self.missing(key))
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, RenderError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a boolean")),
        }
    }

    pub fn bool(&self, key: &str) -> Result<bool, RenderError> {
        self.opt_bool(key)?.ok_or_else(|| self.missing(key))
    }

    /// An integer as C's `PRId64` prints it (unsigned values above
    /// `i64::MAX` wrap, as the C conversion does).
    pub fn opt_int(&self, key: &str) -> Result<Option<i64>, RenderError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => as_int(v)
                .map(Some)
                .ok_or_else(|| self.wrong(key, "an integer")),
        }
    }

    pub fn int(&self, key: &str) -> Result<i64, RenderError> {
        self.opt_int(key)?.ok_or_else(|| self.missing(key))
    }

    /// An integer as C's `PRIu64` prints it (negative values wrap).
    pub fn opt_uint(&self, key: &str) -> Result<Option<u64>, RenderError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => as_uint(v)
                .map(Some)
                .ok_or_else(|| self.wrong(key, "an integer")),
        }
    }

    pub fn uint(&self, key: &str) -> Result<u64, RenderError> {
        self.opt_uint(key)?.ok_or_else(|| self.missing(key))
    }

    /// A list member; absent is an empty list (QAPI omits empty optional
    /// lists).
    pub fn list(&self, key: &str) -> Result<&'a [Value], RenderError> {
        match self.get(key) {
            None => Ok(&[]),
            Some(v) => v
                .as_array()
                .map(Vec::as_slice)
                .ok_or_else(|| self.wrong(key, "a list")),
        }
    }

    /// A nested object.
    pub fn object(&self, key: &str) -> Result<Fields<'a>, RenderError> {
        let v = self.get(key).ok_or_else(|| self.missing(key))?;
        Fields::new(self.renderer, v).map_err(|_| self.wrong(key, "an object"))
    }

    /// Every element of list `key`, each as an object.
    pub fn objects(&self, key: &str) -> Result<Vec<Fields<'a>>, RenderError> {
        self.list(key)?
            .iter()
            .map(|v| Fields::new(self.renderer, v))
            .collect()
    }
}

/// `v` as `PRId64` would print it.
pub fn as_int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_u64().map(|u| u as i64))
}

/// `v` as `PRIu64` would print it.
pub fn as_uint(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_i64().map(|i| i as u64))
}

pub fn bad_reply(renderer: &str, detail: impl Into<String>) -> RenderError {
    RenderError::BadReply {
        renderer: renderer.to_string(),
        detail: detail.into(),
    }
}

/// The `index`-th reply, or an error naming the renderer when the command
/// produced fewer replies than the renderer needs.
pub fn reply<'a>(
    renderer: &str,
    replies: &'a [Reply],
    index: usize,
) -> Result<&'a Reply, RenderError> {
    replies.get(index).ok_or_else(|| {
        bad_reply(
            renderer,
            format!(
                "expected at least {} QMP replies, got {}",
                index + 1,
                replies.len()
            ),
        )
    })
}

/// The first reply's return value, or the QMP error it carried.
pub fn first<'a>(
    renderer: &str,
    replies: &'a [Reply],
) -> Result<Result<&'a Value, &'a QmpErrorReply>, RenderError> {
    Ok(reply(renderer, replies, 0)?.as_ref())
}

/// Renders the first reply with `body`, or HMP's generic `Error: <desc>`
/// when QMP answered with an error.
pub fn on_return(
    renderer: &str,
    replies: &[Reply],
    body: impl FnOnce(&Value) -> Result<String, RenderError>,
) -> Result<String, RenderError> {
    match first(renderer, replies)? {
        Ok(value) => body(value),
        Err(error) => Ok(super::hmp_error(&error.desc)),
    }
}

/// Every element of a list reply, each as an object.
pub fn list_of_objects<'a>(
    renderer: &'a str,
    value: &'a Value,
) -> Result<Vec<Fields<'a>>, RenderError> {
    let items = value
        .as_array()
        .ok_or_else(|| bad_reply(renderer, format!("expected a list, got {value}")))?;
    items.iter().map(|v| Fields::new(renderer, v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_access_and_errors() {
        let v = json!({"s": "x", "b": true, "i": -1, "u": 18446744073709551615u64,
                       "l": [1, 2], "n": null, "o": {"k": 1}});
        let f = Fields::new("t", &v).unwrap();
        assert_eq!(f.str("s").unwrap(), "x");
        assert!(f.bool("b").unwrap());
        assert_eq!(f.int("u").unwrap(), -1);
        assert_eq!(f.uint("i").unwrap(), u64::MAX);
        assert_eq!(f.list("l").unwrap().len(), 2);
        assert!(f.list("absent").unwrap().is_empty());
        assert_eq!(f.opt_str("n").unwrap(), None);
        assert!(!f.has("n"));
        assert_eq!(f.object("o").unwrap().int("k").unwrap(), 1);
        let err = f.str("b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected reply shape for 't': member 'b' is not a string"
        );
        let err = f.int("missing").unwrap_err();
        assert!(err.to_string().contains("member 'missing' is missing"));
        assert!(Fields::new("t", &json!([1])).is_err());
    }

    #[test]
    fn reply_index_errors() {
        let replies: Vec<Reply> = vec![Ok(json!(1))];
        assert!(reply("t", &replies, 0).is_ok());
        let err = reply("t", &replies, 1).unwrap_err();
        assert!(err
            .to_string()
            .contains("expected at least 2 QMP replies, got 1"));
    }
}
