//! `application/x-www-form-urlencoded` bodies, decoded the way browsers and PHP encode them:
//! `+` is a space, `%40` is `@`, `%2B` is a literal `+`, keys may repeat, names and values are
//! UTF-8 (invalid sequences become U+FFFD rather than failing the whole post).

/// A decoded form: the pairs in body order, repeated keys kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        // A trailing newline (some senders add one) is not part of the last value.
        let body = body.strip_suffix(b"\r\n").unwrap_or(body);
        let body = body.strip_suffix(b"\n").unwrap_or(body);
        Form {
            pairs: form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// The first value under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first non-empty value under any of `keys` (tried in order; a key's repeated values
    /// in body order), with the key it was found under.
    pub fn first_of<'a>(&'a self, keys: &[&'a str]) -> Option<(&'a str, &'a str)> {
        keys.iter()
            .find_map(|k| self.all(k).find(|v| !v.trim().is_empty()).map(|v| (*k, v)))
    }

    /// Every value under `key`, in body order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first of `keys` that repeats with two different non-empty values (ignoring case): an
    /// ambiguous post (which one is the contact's email?) that the parsers refuse rather than
    /// guess at.
    pub fn conflicting<'a>(&'a self, keys: &[&'a str]) -> Option<&'a str> {
        keys.iter().copied().find(|k| {
            let mut values = self
                .all(k)
                .map(|v| super::text::lowercase(v.trim()))
                .filter(|v| !v.is_empty());
            values
                .next()
                .is_some_and(|first| values.any(|other| other != first))
        })
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_conflict_only_with_different_non_empty_values() {
        let f = Form::parse(b"id=&id=5&e=a&e=A&n=x&n=y");
        assert_eq!(f.conflicting(&["id", "e"]), None);
        assert_eq!(f.conflicting(&["id", "n", "e"]), Some("n"));
    }

    #[test]
    fn decodes_plus_percent_and_utf8() {
        let f =
            Form::parse(b"Email=ann%40example.com&FirstName=Ann+Marie&tag=a%2Bb&name=J%C3%BCrgen");
        assert_eq!(f.get("Email"), Some("ann@example.com"));
        assert_eq!(f.get("FirstName"), Some("Ann Marie"));
        assert_eq!(f.get("tag"), Some("a+b"));
        assert_eq!(f.get("name"), Some("Jürgen"));
    }

    #[test]
    fn keeps_repeated_keys_in_order() {
        let f = Form::parse(b"t=1&t=2&x=&t=3");
        assert_eq!(f.all("t").collect::<Vec<_>>(), ["1", "2", "3"]);
        assert_eq!(f.get("x"), Some(""));
        assert_eq!(f.first_of(&["x", "t"]), Some(("t", "1")));
        let f = Form::parse(b"id=&id=5&other=9");
        assert_eq!(f.first_of(&["id", "other"]), Some(("id", "5")));
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let f = Form::parse(b"a=%FF%FE&b=ok\n");
        assert_eq!(f.get("a"), Some("\u{FFFD}\u{FFFD}"));
        assert_eq!(f.get("b"), Some("ok"));
    }
}
