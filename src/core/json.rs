//! memberwire's JSON: one small parser into a borrowed tree ([`Json`]), one writer, and the two
//! traits every type that crosses as JSON implements ([`FromJson`], [`ToJson`]), most of them
//! through [`json_struct!`](crate::json_struct) and [`json_enum!`](crate::json_enum).
//!
//! Why not serde: its derived readers and writers, one per type and per reader, were a quarter of
//! the wasm (README, "What limits"). Here the parser exists once, a type's reader is a loop over
//! an object's keys, and nothing formats floats or debug-escapes strings.
//!
//! The format is exactly what memberwire wrote with serde_json before, so saved workflow states
//! and stored members read back unchanged:
//! - fields in declaration order, `None` fields left out where they were before;
//! - strings escaped as serde_json escapes them (`"`, `\`, and control characters; `\b \f \n \r
//!   \t` by their short names, the rest as `\u00xx`); nothing else is escaped;
//! - numbers kept as the text they were written with (a 20-digit id stays exact).
//!
//! Syntax errors name what was expected and where, in the words serde_json used ("EOF while
//! parsing a string at line 1 column 85"): they reach owners in `malformed_body` answers.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// A parsed JSON value, borrowing from the text it was read from where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    /// A number, as written (already checked against JSON's number grammar).
    Num(Cow<'a, str>),
    Str(Cow<'a, str>),
    Arr(Vec<Json<'a>>),
    /// Keys in the order they were written; a key written twice appears twice (see [`Json::get`]).
    Obj(Vec<(Cow<'a, str>, Json<'a>)>),
}

/// Deepest nesting accepted: 127 arrays or objects inside each other, as serde_json's default
/// limit (a post cannot exhaust the stack).
pub const MAX_DEPTH: usize = 127;

impl<'a> Json<'a> {
    /// The value of `key` in an object (the last one, if it was written twice); `None` for
    /// anything but an object.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Obj(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A whole number that fits a u64 (`5`, not `5.0` or `-5`).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Num(n) if n.bytes().all(|b| b.is_ascii_digit()) => n.parse().ok(),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Arr(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(Cow<'a, str>, Json<'a>)]> {
        match self {
            Json::Obj(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    /// What kind of value this is, for error messages ("expected a string, found an object").
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Num(_) => "a number",
            Json::Str(_) => "a string",
            Json::Arr(_) => "an array",
            Json::Obj(_) => "an object",
        }
    }

    /// The value as compact JSON text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// A syntax error: what was expected, and the line and column (1-based, in bytes) where the
/// parser stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: &'static str,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

/// Parses one JSON value (whitespace around it allowed, nothing else). An object that names a
/// key twice keeps both (see [`Json::get`]); readers that must refuse it check for it.
pub fn parse(text: &str) -> Result<Json<'_>, SyntaxError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        at: 0,
        depth: 0,
    };
    p.value_top().map_err(|(message, at)| p.error(message, at))
}

type PResult<T> = Result<T, (&'static str, usize)>;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

const EOF_VALUE: &str = "EOF while parsing a value";
const EOF_STRING: &str = "EOF while parsing a string";
const EOF_LIST: &str = "EOF while parsing a list";
const EOF_OBJECT: &str = "EOF while parsing an object";

impl<'a> Parser<'a> {
    fn error(&self, message: &'static str, at: usize) -> SyntaxError {
        let at = at.min(self.bytes.len());
        let before = &self.bytes[..at];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        SyntaxError {
            message,
            line,
            column: at - line_start,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// An error about the byte at the cursor (its position counts it, as serde_json's did).
    fn here(&self, message: &'static str) -> (&'static str, usize) {
        (message, self.at + 1)
    }

    fn value_top(&mut self) -> PResult<Json<'a>> {
        let v = self.value()?;
        self.skip_ws();
        if self.at < self.bytes.len() {
            return Err(self.here("trailing characters"));
        }
        Ok(v)
    }

    fn value(&mut self) -> PResult<Json<'a>> {
        self.skip_ws();
        match self.peek() {
            None => Err((EOF_VALUE, self.at)),
            Some(b'n') => self.ident(b"null", Json::Null),
            Some(b't') => self.ident(b"true", Json::Bool(true)),
            Some(b'f') => self.ident(b"false", Json::Bool(false)),
            Some(b'"') => {
                self.at += 1;
                Ok(Json::Str(self.string()?))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => {
                self.enter()?;
                self.at += 1;
                let v = self.array();
                self.depth -= 1;
                v
            }
            Some(b'{') => {
                self.enter()?;
                self.at += 1;
                let v = self.object();
                self.depth -= 1;
                v
            }
            Some(_) => Err(self.here("expected value")),
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.here("recursion limit exceeded"));
        }
        Ok(())
    }

    fn ident(&mut self, word: &[u8], v: Json<'a>) -> PResult<Json<'a>> {
        for &expected in word {
            match self.peek() {
                None => return Err((EOF_VALUE, self.at)),
                Some(b) if b == expected => self.at += 1,
                Some(_) => return Err(self.here("expected ident")),
            }
        }
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> PResult<Json<'a>> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            None => return Err((EOF_VALUE, self.at)),
            Some(b'0') => {
                self.at += 1;
                // serde_json's word for `01`: the 0 is a whole number, then a stray digit.
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.here("invalid number"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            Some(_) => return Err(self.here("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(match self.peek() {
                    None => (EOF_VALUE, self.at),
                    Some(_) => self.here("invalid number"),
                });
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(match self.peek() {
                    None => (EOF_VALUE, self.at),
                    Some(_) => self.here("invalid number"),
                });
            }
        }
        Ok(Json::Num(Cow::Borrowed(&self.text[start..self.at])))
    }

    /// A string's contents, the opening quote already read.
    fn string(&mut self) -> PResult<Cow<'a, str>> {
        let start = self.at;
        // Fast path: no escapes, borrowed from the text.
        loop {
            match self.peek() {
                None => return Err((EOF_STRING, self.at)),
                Some(b'"') => {
                    let s = &self.text[start..self.at];
                    self.at += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(0..=0x1f) => {
                    return Err(self
                        .here("control character (\\u0000-\\u001F) found while parsing a string"))
                }
                Some(_) => self.at += 1,
            }
        }
        let mut out = String::with_capacity(self.at - start + 16);
        out.push_str(&self.text[start..self.at]);
        loop {
            let run = self.at;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.at += 1;
            }
            out.push_str(&self.text[run..self.at]);
            match self.peek() {
                None => return Err((EOF_STRING, self.at)),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.at += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => {
                    return Err(self
                        .here("control character (\\u0000-\\u001F) found while parsing a string"))
                }
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> PResult<()> {
        let Some(b) = self.peek() else {
            return Err((EOF_STRING, self.at));
        };
        self.at += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                match first {
                    0xD800..=0xDBFF => {
                        // A leading surrogate must be followed by `\u` and a trailing one.
                        for expected in [b'\\', b'u'] {
                            match self.peek() {
                                None => return Err((EOF_STRING, self.at)),
                                Some(b) if b == expected => self.at += 1,
                                Some(_) => return Err(self.here("unexpected end of hex escape")),
                            }
                        }
                        let second = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err(("lone leading surrogate in hex escape", self.at));
                        }
                        let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                        char::from_u32(code).ok_or(("invalid unicode code point", self.at))?
                    }
                    0xDC00..=0xDFFF => {
                        return Err(("lone leading surrogate in hex escape", self.at))
                    }
                    _ => char::from_u32(first).ok_or(("invalid unicode code point", self.at))?,
                }
            }
            _ => return Err(("invalid escape", self.at)),
        };
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> PResult<u32> {
        // Fewer than four bytes left is the end of the text, whatever they are; four that are
        // not all hex digits are an invalid escape, named after the four.
        if self.at + 4 > self.bytes.len() {
            return Err((EOF_STRING, self.bytes.len()));
        }
        let digits = &self.bytes[self.at..self.at + 4];
        self.at += 4;
        let mut n = 0u32;
        for &b in digits {
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return Err(("invalid escape", self.at)),
            };
            n = n * 16 + u32::from(d);
        }
        Ok(n)
    }

    /// At a container's start: whether it is empty (its closing byte then read).
    fn empty(&mut self, close: u8, eof: &'static str) -> PResult<bool> {
        self.skip_ws();
        match self.peek() {
            None => Err((eof, self.at)),
            Some(b) if b == close => {
                self.at += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
        }
    }

    /// After a container's item: whether the container ended (`false`: a comma, another item).
    fn ended(&mut self, close: u8, eof: &'static str, expected: &'static str) -> PResult<bool> {
        self.skip_ws();
        match self.peek() {
            None => Err((eof, self.at)),
            Some(b) if b == close => {
                self.at += 1;
                Ok(true)
            }
            Some(b',') => {
                self.at += 1;
                self.skip_ws();
                if self.peek() == Some(close) {
                    return Err(self.here("trailing comma"));
                }
                Ok(false)
            }
            Some(_) => Err(self.here(expected)),
        }
    }

    fn array(&mut self) -> PResult<Json<'a>> {
        let mut items = Vec::new();
        if !self.empty(b']', EOF_LIST)? {
            loop {
                items.push(self.value()?);
                if self.ended(b']', EOF_LIST, "expected `,` or `]`")? {
                    break;
                }
            }
        }
        Ok(Json::Arr(items))
    }

    fn object(&mut self) -> PResult<Json<'a>> {
        let mut entries: Vec<(Cow<'a, str>, Json<'a>)> = Vec::new();
        if !self.empty(b'}', EOF_OBJECT)? {
            loop {
                match self.peek() {
                    None => return Err((EOF_OBJECT, self.at)),
                    Some(b'"') => self.at += 1,
                    Some(_) => return Err(self.here("key must be a string")),
                }
                let key = self.string()?;
                self.skip_ws();
                match self.peek() {
                    None => return Err((EOF_OBJECT, self.at)),
                    Some(b':') => self.at += 1,
                    Some(_) => return Err(self.here("expected `:`")),
                }
                entries.push((key, self.value()?));
                if self.ended(b'}', EOF_OBJECT, "expected `,` or `}`")? {
                    break;
                }
            }
        }
        Ok(Json::Obj(entries))
    }
}

// ---------------------------------------------------------------------------------------------
// Reading values into Rust types

/// A value that is not the shape a type needs, with the path to it (`contact.tags[2].id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    message: String,
    path: String,
}

impl DecodeError {
    pub fn new(message: impl Into<String>) -> DecodeError {
        DecodeError {
            message: message.into(),
            path: String::new(),
        }
    }

    /// "expected a string, found an object".
    pub fn expected(what: &str, found: &Json<'_>) -> DecodeError {
        DecodeError::new(format!("expected {what}, found {}", found.kind()))
    }

    pub fn missing(field: &str) -> DecodeError {
        DecodeError::new(format!("missing field `{field}`"))
    }

    pub fn duplicate(field: &str) -> DecodeError {
        DecodeError::new(format!("duplicate field `{field}`"))
    }

    pub fn unknown_field(field: &str) -> DecodeError {
        DecodeError::new(format!("unknown field `{field}`"))
    }

    pub fn unknown_variant(value: &str, of: &str) -> DecodeError {
        DecodeError::new(format!("unknown variant `{value}` of {of}"))
    }

    /// The same error, inside the object field `key`.
    pub fn in_field(mut self, key: &str) -> DecodeError {
        if self.path.is_empty() || self.path.starts_with('[') {
            self.path.insert_str(0, key);
        } else {
            self.path.insert(0, '.');
            self.path.insert_str(0, key);
        }
        self
    }

    /// The same error, inside item `index` of an array.
    pub fn in_item(mut self, index: usize) -> DecodeError {
        if !self.path.is_empty() && !self.path.starts_with('[') {
            self.path.insert(0, '.');
        }
        self.path.insert_str(0, &format!("[{index}]"));
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{} at `{}`", self.message, self.path)
        }
    }
}

/// A type read from a [`Json`] value.
pub trait FromJson: Sized {
    fn from_json(v: Json<'_>) -> Result<Self, DecodeError>;

    /// What an object's missing field of this type reads as: an error, but `None` for options.
    fn when_missing(field: &str) -> Result<Self, DecodeError> {
        Err(DecodeError::missing(field))
    }
}

/// A type written as JSON text.
pub trait ToJson {
    fn write_json(&self, out: &mut String);
}

/// Either failure of [`from_str`]: the text is not JSON, or not the JSON the type needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    Syntax(SyntaxError),
    Decode(DecodeError),
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Syntax(e) => e.fmt(f),
            JsonError::Decode(e) => e.fmt(f),
        }
    }
}

/// Parses `text` as a `T`.
pub fn from_str<T: FromJson>(text: &str) -> Result<T, JsonError> {
    let v = parse(text).map_err(JsonError::Syntax)?;
    T::from_json(v).map_err(JsonError::Decode)
}

/// `value` as compact JSON text.
pub fn to_string<T: ToJson + ?Sized>(value: &T) -> String {
    let mut out = String::new();
    value.write_json(&mut out);
    out
}

/// Reads one field's value, naming the field in its error.
pub fn field<T: FromJson>(v: Json<'_>, key: &str) -> Result<T, DecodeError> {
    T::from_json(v).map_err(|e| e.in_field(key))
}

/// The entries of an object (`what` names the type in the error).
pub fn object<'a>(v: Json<'a>, what: &str) -> Result<Vec<(Cow<'a, str>, Json<'a>)>, DecodeError> {
    match v {
        Json::Obj(entries) => Ok(entries),
        other => Err(DecodeError::expected(what, &other)),
    }
}

/// Stores a field's value the first time its key is seen; a second time is an error.
pub fn set_once<T: FromJson>(
    slot: &mut Option<T>,
    v: Json<'_>,
    key: &str,
) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(DecodeError::duplicate(key));
    }
    *slot = Some(field(v, key)?);
    Ok(())
}

/// A field's value, or what a missing field of its type reads as.
pub fn required<T: FromJson>(slot: Option<T>, key: &str) -> Result<T, DecodeError> {
    match slot {
        Some(v) => Ok(v),
        None => T::when_missing(key),
    }
}

/// The key of an object written twice (the one whose second appearance comes first), if any.
/// Objects come from senders: a large one is checked through a B-tree, not key against key.
pub fn repeated_key<'j>(entries: &'j [(Cow<'_, str>, Json<'_>)]) -> Option<&'j str> {
    if entries.len() <= 16 {
        return entries
            .iter()
            .enumerate()
            .find(|(i, (k, _))| entries[..*i].iter().any(|(seen, _)| seen == k))
            .map(|(_, (k, _))| k.as_ref());
    }
    // The map type a contact's fields already use: no second copy of the B-tree's code (or of
    // a sort's) in the wasm, for a copy of each key.
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    entries
        .iter()
        .find(|(k, _)| seen.insert(k.to_string(), String::new()).is_some())
        .map(|(k, _)| k.as_ref())
}

/// An object's fields taken one by one, for the types a macro does not read (tagged enums):
/// `let mut f = Fields::of(v, "an operation")?; match f.tag("op")?.as_str() { ... f.take("key")? }`.
/// Keys nobody takes are ignored; a key written twice is an error.
pub struct Fields<'a> {
    entries: Vec<(Cow<'a, str>, Json<'a>)>,
}

impl<'a> Fields<'a> {
    pub fn of(v: Json<'a>, what: &str) -> Result<Fields<'a>, DecodeError> {
        let entries = object(v, what)?;
        if let Some(k) = repeated_key(&entries) {
            return Err(DecodeError::duplicate(k));
        }
        Ok(Fields { entries })
    }

    /// The value of `key` read as a `T` (a missing key as [`FromJson::when_missing`] says).
    pub fn take<T: FromJson>(&mut self, key: &str) -> Result<T, DecodeError> {
        match self.entries.iter().position(|(k, _)| k == key) {
            Some(i) => field(self.entries.swap_remove(i).1, key),
            None => T::when_missing(key),
        }
    }

    /// The tag naming an enum's variant: a string field that must be there.
    pub fn tag(&mut self, key: &str) -> Result<Cow<'a, str>, DecodeError> {
        match self.entries.iter().position(|(k, _)| k == key) {
            Some(i) => match self.entries.swap_remove(i).1 {
                Json::Str(s) => Ok(s),
                other => Err(DecodeError::expected("a string", &other).in_field(key)),
            },
            None => Err(DecodeError::missing(key)),
        }
    }
}

impl FromJson for String {
    fn from_json(v: Json<'_>) -> Result<Self, DecodeError> {
        match v {
            Json::Str(s) => Ok(s.into_owned()),
            other => Err(DecodeError::expected("a string", &other)),
        }
    }
}

impl FromJson for bool {
    fn from_json(v: Json<'_>) -> Result<Self, DecodeError> {
        match v {
            Json::Bool(b) => Ok(b),
            other => Err(DecodeError::expected("a boolean", &other)),
        }
    }
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(v: Json<'_>) -> Result<Self, DecodeError> {
                match v.as_u64() {
                    Some(n) => <$t>::try_from(n).map_err(|_| {
                        DecodeError::new(format!("{n} is out of range for {}", stringify!($t)))
                    }),
                    None => Err(DecodeError::expected("a whole number", &v)),
                }
            }
        }
        impl ToJson for $t {
            fn write_json(&self, out: &mut String) {
                write_u64(out, *self as u64);
            }
        }
    )*};
}
unsigned!(u8, u16, u32, u64, usize);

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: Json<'_>) -> Result<Self, DecodeError> {
        match v {
            Json::Null => Ok(None),
            other => T::from_json(other).map(Some),
        }
    }

    fn when_missing(_field: &str) -> Result<Self, DecodeError> {
        Ok(None)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: Json<'_>) -> Result<Self, DecodeError> {
        match v {
            Json::Arr(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| T::from_json(item).map_err(|e| e.in_item(i)))
                .collect(),
            other => Err(DecodeError::expected("an array", &other)),
        }
    }
}

impl<T: FromJson> FromJson for BTreeMap<String, T> {
    fn from_json(v: Json<'_>) -> Result<Self, DecodeError> {
        let mut out = BTreeMap::new();
        for (k, v) in object(v, "an object")? {
            let value = field(v, &k)?;
            // serde_json's maps kept the last of a key written twice.
            out.insert(k.into_owned(), value);
        }
        Ok(out)
    }
}

impl<A: FromJson, B: FromJson> FromJson for (A, B) {
    fn from_json(v: Json<'_>) -> Result<Self, DecodeError> {
        match v {
            Json::Arr(items) if items.len() == 2 => {
                let mut it = items.into_iter();
                let mut item = || it.next().unwrap_or(Json::Null);
                let a = A::from_json(item()).map_err(|e| e.in_item(0))?;
                let b = B::from_json(item()).map_err(|e| e.in_item(1))?;
                Ok((a, b))
            }
            other => Err(DecodeError::expected("an array of two", &other)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Writes `s` as a JSON string, escaped as serde_json escapes it.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(short);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

fn write_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
}

/// Writes an object's fields one by one: `{`, then `"key":value` pairs with commas, then `}`.
pub struct ObjectWriter<'o> {
    out: &'o mut String,
    first: bool,
}

impl<'o> ObjectWriter<'o> {
    pub fn new(out: &'o mut String) -> ObjectWriter<'o> {
        out.push('{');
        ObjectWriter { out, first: true }
    }

    /// Starts a field: its value must be written next, into [`ObjectWriter::out`].
    pub fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_str(self.out, key);
        self.out.push(':');
        self.out
    }

    pub fn field<T: ToJson + ?Sized>(&mut self, key: &str, value: &T) {
        let out = self.key(key);
        value.write_json(out);
    }

    /// Writes the field only when it has a value (serde's `skip_serializing_if = "Option::is_none"`).
    pub fn some<T: ToJson>(&mut self, key: &str, value: &Option<T>) {
        if let Some(v) = value {
            self.field(key, v);
        }
    }

    pub fn end(self) {
        self.out.push('}');
    }
}

/// The text of one object, its fields written by `fill`.
pub fn object_text(fill: impl FnOnce(&mut ObjectWriter<'_>)) -> String {
    let mut out = String::new();
    let mut o = ObjectWriter::new(&mut out);
    fill(&mut o);
    o.end();
    out
}

impl ToJson for str {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn write_json(&self, out: &mut String) {
        (**self).write_json(out);
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(v) => v.write_json(out),
            None => out.push_str("null"),
        }
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write_json(out);
        }
        out.push(']');
    }
}

impl<A: ToJson, B: ToJson> ToJson for (A, B) {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        self.0.write_json(out);
        out.push(',');
        self.1.write_json(out);
        out.push(']');
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        self.as_slice().write_json(out);
    }
}

impl<K: AsRef<str>, T: ToJson> ToJson for BTreeMap<K, T> {
    fn write_json(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        for (k, v) in self {
            o.field(k.as_ref(), v);
        }
        o.end();
    }
}

impl ToJson for Json<'_> {
    fn write_json(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => b.write_json(out),
            Json::Num(n) => out.push_str(n),
            Json::Str(s) => write_str(out, s),
            Json::Arr(items) => items.write_json(out),
            Json::Obj(entries) => {
                let mut o = ObjectWriter::new(out);
                for (k, v) in entries {
                    o.field(k, v);
                }
                o.end();
            }
        }
    }
}

/// A value that [`json!`](crate::json) can put into a JSON document.
pub trait IntoJson {
    fn into_json(self) -> Json<'static>;
}

impl IntoJson for Json<'static> {
    fn into_json(self) -> Json<'static> {
        self
    }
}

impl IntoJson for &str {
    fn into_json(self) -> Json<'static> {
        Json::Str(Cow::Owned(self.to_owned()))
    }
}

impl IntoJson for String {
    fn into_json(self) -> Json<'static> {
        Json::Str(Cow::Owned(self))
    }
}

impl IntoJson for &String {
    fn into_json(self) -> Json<'static> {
        Json::Str(Cow::Owned(self.clone()))
    }
}

impl IntoJson for bool {
    fn into_json(self) -> Json<'static> {
        Json::Bool(self)
    }
}

macro_rules! into_json_number {
    ($($t:ty),*) => {$(
        impl IntoJson for $t {
            fn into_json(self) -> Json<'static> {
                Json::Num(Cow::Owned(self.to_string()))
            }
        }
    )*};
}
into_json_number!(i32, u32, u64, usize);

/// A JSON document written inline, for the request bodies sent to CRMs:
/// `json!({"tags": [{"name": tag, "status": "active"}], "count": 500, (key): value})`.
/// Keys and values are literals or single tokens; wrap a longer expression in parentheses.
/// Keys keep the order they are written in.
#[macro_export]
macro_rules! json {
    (null) => { $crate::core::json::Json::Null };
    ([ $($v:tt),* $(,)? ]) => {
        $crate::core::json::Json::Arr(vec![ $( $crate::json!($v) ),* ])
    };
    ({ $($k:tt : $v:tt),* $(,)? }) => {
        $crate::core::json::Json::Obj(vec![
            $( (::std::borrow::Cow::Owned(::std::string::String::from($k)), $crate::json!($v)) ),*
        ])
    };
    ($e:expr) => { $crate::core::json::IntoJson::into_json($e) };
}

/// A struct read from and written as a JSON object, field by field:
///
/// ```ignore
/// json_struct!(Member {
///     id: "id" [default],          // missing: Default::default()
///     email: "email" [required],   // missing: an error (an Option reads as None)
///     contact: "contact" [some],   // an Option; left out when None, as is a missing key
///     fields: "fields" [nonempty], // left out when empty (a map or a list)
///     waited: "waited" [iftrue],   // a bool left out when false
///     password: "hasPassword" [presence], // written as `true` when Some, never read back
///     extra: "extra" [skip],       // not in the JSON; Default::default() when read
/// });
/// ```
/// `[default]` and `[required]` fields are always written; `#[deny_unknown_fields]` before the
/// name refuses keys it does not list, `#[from_only]` makes no writer (a type holding a secret), `#[to_only]` no reader.
/// `#[defaults]` (fields without modes) reads settings: a missing field takes its value from
/// the type's own `Default`, and no writer is made. A key written twice is an error, as it was with serde.
#[macro_export]
macro_rules! json_struct {
    // Settings: a missing field takes its value from the type's `Default` (serde's container
    // `#[serde(default)]`), not from its own type's default.
    (#[defaults] $name:ident { $($field:ident : $key:literal),* $(,)? }) => {
        impl $crate::core::json::FromJson for $name {
            fn from_json(
                v: $crate::core::json::Json<'_>,
            ) -> Result<Self, $crate::core::json::DecodeError> {
                use $crate::core::json as j;
                $( let mut $field = None; )*
                for (k, v) in j::object(v, concat!("an object (", stringify!($name), ")"))? {
                    match &*k {
                        $( $key => j::set_once(&mut $field, v, $key)?, )*
                        _ => {}
                    }
                }
                let base = <$name as Default>::default();
                Ok($name {
                    $( $field: match $field { Some(v) => v, None => base.$field }, )*
                })
            }
        }
    };
    ($(#[$attr:ident])? $name:ident { $($field:ident : $key:literal [$mode:ident]),* $(,)? }) => {
        $crate::json_struct!(@from [$($attr)?] $name { $($field : $key [$mode]),* });
        $crate::json_struct!(@to [$($attr)?] $name { $($field : $key [$mode]),* });
    };
    (@to [from_only] $name:ident { $($field:ident : $key:literal [$mode:ident]),* }) => {};
    (@to [$($attr:ident)?] $name:ident { $($field:ident : $key:literal [$mode:ident]),* }) => {
        impl $crate::core::json::ToJson for $name {
            #[allow(unused_mut)]
            fn write_json(&self, out: &mut String) {
                let mut o = $crate::core::json::ObjectWriter::new(out);
                $( $crate::json_struct!(@write $mode o self $field $key); )*
                o.end();
            }
        }
    };
    (@from [to_only] $name:ident { $($field:ident : $key:literal [$mode:ident]),* }) => {};
    (@from [$($attr:ident)?] $name:ident { $($field:ident : $key:literal [$mode:ident]),* }) => {
        impl $crate::core::json::FromJson for $name {
            #[allow(unused_mut)]
            fn from_json(
                v: $crate::core::json::Json<'_>,
            ) -> Result<Self, $crate::core::json::DecodeError> {
                use $crate::core::json as j;
                $( let mut $field = None; )*
                for (k, v) in j::object(v, concat!("an object (", stringify!($name), ")"))? {
                    match &*k {
                        $( $key => $crate::json_struct!(@read $mode $field v $key), )*
                        _ => { $crate::json_struct!(@unknown [$($attr)?] k) }
                    }
                }
                Ok($name {
                    $( $field: $crate::json_struct!(@missing $mode $field $key), )*
                })
            }
        }
    };
    (@read skip $field:ident $v:ident $key:literal) => {{ let _ = &$v; let _: &Option<()> = &$field; }};
    (@read presence $field:ident $v:ident $key:literal) => {{ let _ = &$v; let _: &Option<()> = &$field; }};
    (@read $mode:ident $field:ident $v:ident $key:literal) => { j::set_once(&mut $field, $v, $key)? };
    (@missing required $field:ident $key:literal) => { j::required($field, $key)? };
    (@missing skip $field:ident $key:literal) => {{ let _: Option<()> = $field; Default::default() }};
    (@missing presence $field:ident $key:literal) => {{ let _: Option<()> = $field; Default::default() }};
    (@missing $mode:ident $field:ident $key:literal) => { $field.unwrap_or_default() };
    (@write some $o:ident $s:tt $field:ident $key:literal) => { $o.some($key, &$s.$field) };
    (@write skip $o:ident $s:tt $field:ident $key:literal) => {};
    (@write iftrue $o:ident $s:tt $field:ident $key:literal) => {
        if $s.$field { $o.field($key, &true) }
    };
    (@write nonempty $o:ident $s:tt $field:ident $key:literal) => {
        if !$s.$field.is_empty() { $o.field($key, &$s.$field) }
    };
    (@write presence $o:ident $s:tt $field:ident $key:literal) => {
        if $s.$field.is_some() { $o.field($key, &true) }
    };
    (@write $mode:ident $o:ident $s:tt $field:ident $key:literal) => { $o.field($key, &$s.$field) };
    (@unknown [deny_unknown_fields] $k:ident) => {{ return Err(j::DecodeError::unknown_field(&$k)) }};
    (@unknown [$($attr:ident)?] $k:ident) => {{ let _ = $k; }};
}

/// An enum of unit variants read from and written as strings:
/// `json_enum!(Credentials { None = "none", LinkIssued = "link_issued" });`, or, for an enum
/// that already names its values, through those names: `json_enum!(CrmKind by as_str, from_name);`.
#[macro_export]
macro_rules! json_enum {
    ($name:ident by $to:ident, $from:ident) => {
        impl $crate::core::json::FromJson for $name {
            fn from_json(
                v: $crate::core::json::Json<'_>,
            ) -> Result<Self, $crate::core::json::DecodeError> {
                match v.as_str() {
                    Some(s) => $name::$from(s).ok_or_else(|| {
                        $crate::core::json::DecodeError::unknown_variant(s, stringify!($name))
                    }),
                    None => Err($crate::core::json::DecodeError::expected("a string", &v)),
                }
            }
        }

        impl $crate::core::json::ToJson for $name {
            fn write_json(&self, out: &mut String) {
                $crate::core::json::write_str(out, self.$to());
            }
        }
    };
    ($name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        impl $name {
            /// The name this value is written with in JSON.
            pub const fn json_name(self) -> &'static str {
                match self { $( $name::$variant => $text, )* }
            }
        }

        impl $crate::core::json::FromJson for $name {
            fn from_json(
                v: $crate::core::json::Json<'_>,
            ) -> Result<Self, $crate::core::json::DecodeError> {
                match v.as_str() {
                    $( Some($text) => Ok($name::$variant), )*
                    Some(other) => Err($crate::core::json::DecodeError::unknown_variant(
                        other,
                        stringify!($name),
                    )),
                    None => Err($crate::core::json::DecodeError::expected("a string", &v)),
                }
            }
        }

        impl $crate::core::json::ToJson for $name {
            fn write_json(&self, out: &mut String) {
                out.push('"');
                out.push_str(self.json_name());
                out.push('"');
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn syntax_errors_name_what_and_where() {
        assert_eq!(err(""), "EOF while parsing a value at line 1 column 0");
        assert_eq!(err("not json"), "expected ident at line 1 column 2");
        assert_eq!(err("<html>"), "expected value at line 1 column 1");
        assert_eq!(
            err("{\"a\":\"b"),
            "EOF while parsing a string at line 1 column 7"
        );
        assert_eq!(
            err("{\"a\":1"),
            "EOF while parsing an object at line 1 column 6"
        );
        assert_eq!(err("[1,2"), "EOF while parsing a list at line 1 column 4");
        assert_eq!(err("{\"a\" 1}"), "expected `:` at line 1 column 6");
        assert_eq!(
            err("{\"a\":1 \"b\"}"),
            "expected `,` or `}` at line 1 column 8"
        );
        assert_eq!(err("[1 2]"), "expected `,` or `]` at line 1 column 4");
        assert_eq!(err("{1:2}"), "key must be a string at line 1 column 2");
        assert_eq!(err("[1,]"), "trailing comma at line 1 column 4");
        assert_eq!(err("{\"a\":1,}"), "trailing comma at line 1 column 8");
        assert_eq!(err("1 2"), "trailing characters at line 1 column 3");
        assert_eq!(err("01"), "invalid number at line 1 column 2");
        assert_eq!(err("1."), "EOF while parsing a value at line 1 column 2");
        assert_eq!(err("1.x"), "invalid number at line 1 column 3");
        assert_eq!(err("-"), "EOF while parsing a value at line 1 column 1");
        assert_eq!(err("\"\\x\""), "invalid escape at line 1 column 3");
        assert_eq!(
            err("\"a\nb\""),
            "control character (\\u0000-\\u001F) found while parsing a string at line 2 column 0"
        );
        assert_eq!(
            err("\"\\ud800\""),
            "unexpected end of hex escape at line 1 column 8"
        );
        assert_eq!(
            err("\"\\ud800\\u0041\""),
            "lone leading surrogate in hex escape at line 1 column 13"
        );
        assert_eq!(
            err("\"\\udc00\""),
            "lone leading surrogate in hex escape at line 1 column 7"
        );
        assert_eq!(err("\n\n  ]"), "expected value at line 3 column 3");
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(
            err(&deep),
            format!(
                "recursion limit exceeded at line 1 column {}",
                MAX_DEPTH + 1
            )
        );
        assert!(matches!(parse(&"[".repeat(MAX_DEPTH)), Err(e) if e.message == EOF_LIST));
    }

    #[test]
    fn syntax_errors_read_as_serde_json_words_them() {
        let deep = "[".repeat(200);
        let cases = [
            "",
            " ",
            "not json",
            "<html>",
            "{\"a\":\"b",
            "{\"a\":1",
            "[1,2",
            "{\"a\" 1}",
            "{\"a\":1 \"b\"}",
            "[1 2]",
            "{1:2}",
            "[1,]",
            "{\"a\":1,}",
            "1 2",
            "01",
            "1.",
            "1.x",
            "-",
            "-x",
            "1e",
            "1e+",
            "tru",
            "nul",
            "fals",
            "\"\\x\"",
            "\"a\nb\"",
            "\"\\ud800\"",
            "\"\\ud800\\u0041\"",
            "\"\\udc00\"",
            "\"\\u12\"",
            "\"\\u12g4\"",
            "\n\n  ]",
            "[\r\n1,\r\n]",
            &deep,
            "{\"a\":[{\"b\":}]}",
            "[1,2]x",
            "\"\\",
            "[",
            "{",
            "{\"a\"",
            "{\"a\":",
            "\"abc",
            "[1,",
            "{,}",
            "[,1]",
            "1.5e",
            "-01",
            "[-]",
            "\"\\u00\"",
            "\"\\ud800\\udbff\"",
            "\u{1}",
            "\"\u{1}\"",
            "{\"a\":1}}",
            "[]]",
            "\u{feff}1",
        ];
        for text in cases {
            let ours = parse(text).unwrap_err().to_string();
            let theirs = serde_json::from_str::<serde_json::Value>(text)
                .unwrap_err()
                .to_string();
            assert_eq!(ours, theirs, "{text:?}");
        }
    }

    #[test]
    fn values_read_as_written() {
        let v =
            parse(r#" {"a": [1, -2.5e3, "x\u00e9\ud83d\ude00\n", true, false, null], "b": {}} "#)
                .unwrap();
        let a = v.get("a").unwrap().as_array().unwrap();
        assert_eq!(a[0], Json::Num("1".into()));
        assert_eq!(a[1], Json::Num("-2.5e3".into()));
        assert_eq!(a[2].as_str(), Some("x\u{e9}\u{1f600}\n"));
        assert_eq!(a[3], Json::Bool(true));
        assert!(a[5].is_null());
        assert_eq!(v.get("b"), Some(&Json::Obj(vec![])));
        // Unescaped strings borrow from the text.
        let v = parse(r#"["plain"]"#).unwrap();
        assert!(matches!(
            &v.as_array().unwrap()[0],
            Json::Str(Cow::Borrowed("plain"))
        ));
        // 20-digit numbers keep every digit.
        assert_eq!(
            parse("12345678901234567890123").unwrap().to_text(),
            "12345678901234567890123"
        );
        assert_eq!(
            parse("18446744073709551615").unwrap().as_u64(),
            Some(u64::MAX)
        );
        assert_eq!(parse("18446744073709551616").unwrap().as_u64(), None);
        assert_eq!(parse("5.0").unwrap().as_u64(), None);
    }

    #[test]
    fn a_repeated_key_is_found_in_small_and_large_objects_alike() {
        for n in [3usize, 16, 17, 5000] {
            let mut keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
            let text = |keys: &[String]| {
                let body: Vec<String> = keys.iter().map(|k| format!("\"{k}\":1")).collect();
                format!("{{{}}}", body.join(","))
            };
            let t = text(&keys);
            let v = parse(&t).unwrap();
            assert_eq!(repeated_key(v.as_object().unwrap()), None, "{n} keys");
            // Two keys repeated: the one whose second appearance comes first is named.
            keys.push("k2".into());
            keys.push("k0".into());
            keys.push("k2".into());
            let t = text(&keys);
            let v = parse(&t).unwrap();
            assert_eq!(repeated_key(v.as_object().unwrap()), Some("k2"), "{n} keys");
        }
    }

    #[test]
    fn a_key_written_twice_is_kept_twice_and_read_as_the_last() {
        let v = parse(r#"{"a": 1, "b": {"c": 2, "c": 3}}"#).unwrap();
        let b = v.get("b").unwrap();
        assert_eq!(b.as_object().unwrap().len(), 2);
        assert_eq!(b.get("c"), Some(&Json::Num("3".into())));
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escaped_them() {
        let s = "q\"b\\n\nr\rt\tb\u{8}f\u{c}x\u{1}\u{1f}/é\u{7f}😀";
        let text = to_string(s);
        assert_eq!(
            text,
            "\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\fx\\u0001\\u001f/é\u{7f}😀\""
        );
        assert_eq!(from_str::<String>(&text).unwrap(), s);
    }

    #[derive(Debug, Default, PartialEq)]
    struct Sample {
        id: String,
        n: u64,
        note: Option<String>,
        tags: Vec<String>,
        hidden: u32,
    }
    crate::json_struct!(Sample {
        id: "id"[required],
        n: "n"[default],
        note: "note"[some],
        tags: "tags"[default],
        hidden: "hidden"[skip],
    });

    #[derive(Debug, Default, PartialEq)]
    struct Strict {
        a: Option<u8>,
    }
    crate::json_struct!(
        #[deny_unknown_fields]
        Strict { a: "a"[required] }
    );

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Colour {
        Red,
        DarkBlue,
    }
    crate::json_enum!(Colour { Red = "red", DarkBlue = "dark_blue" });

    #[test]
    fn structs_and_enums_read_and_write() {
        let s: Sample = from_str(r#"{"tags":["x"],"id":"7","hidden":9,"other":[{}]}"#).unwrap();
        assert_eq!(
            s,
            Sample {
                id: "7".into(),
                tags: vec!["x".into()],
                ..Sample::default()
            }
        );
        assert_eq!(to_string(&s), r#"{"id":"7","n":0,"tags":["x"]}"#);
        let s = Sample {
            note: Some("hi".into()),
            ..s
        };
        assert_eq!(
            to_string(&s),
            r#"{"id":"7","n":0,"note":"hi","tags":["x"]}"#
        );

        let e = from_str::<Sample>(r#"{"n":1}"#).unwrap_err();
        assert_eq!(e.to_string(), "missing field `id`");
        let e = from_str::<Sample>(r#"{"id":"1","id":"2"}"#).unwrap_err();
        assert_eq!(e.to_string(), "duplicate field `id`");
        let e = from_str::<Vec<Sample>>(r#"[{"id":"1"},{"id":"1","tags":[1]}]"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "expected a string, found a number at `[1].tags[0]`"
        );
        let e = from_str::<Sample>(r#"[]"#).unwrap_err();
        assert_eq!(e.to_string(), "expected an object (Sample), found an array");

        assert_eq!(from_str::<Strict>("{}").unwrap(), Strict { a: None });
        assert_eq!(
            from_str::<Strict>(r#"{"a":null}"#).unwrap(),
            Strict { a: None }
        );
        let e = from_str::<Strict>(r#"{"b":1}"#).unwrap_err();
        assert_eq!(e.to_string(), "unknown field `b`");
        let e = from_str::<Strict>(r#"{"a":300}"#).unwrap_err();
        assert_eq!(e.to_string(), "300 is out of range for u8 at `a`");

        assert_eq!(
            from_str::<Colour>(r#""dark_blue""#).unwrap(),
            Colour::DarkBlue
        );
        assert_eq!(to_string(&Colour::Red), r#""red""#);
        let e = from_str::<Colour>(r#""green""#).unwrap_err();
        assert_eq!(e.to_string(), "unknown variant `green` of Colour");
    }

    #[test]
    fn an_enum_that_names_itself_reads_and_writes_by_those_names() {
        use crate::core::contact::CrmKind;
        assert_eq!(
            from_str::<CrmKind>(r#""hubspot""#).unwrap(),
            CrmKind::HubSpot
        );
        assert_eq!(to_string(&CrmKind::ActiveCampaign), r#""activecampaign""#);
        let e = from_str::<CrmKind>(r#""nope""#).unwrap_err();
        assert_eq!(e.to_string(), "unknown variant `nope` of CrmKind");
        let e = from_str::<CrmKind>("7").unwrap_err();
        assert_eq!(e.to_string(), "expected a string, found a number");
    }

    #[test]
    fn values_write_back_as_read() {
        let text = r#"{"a":[1,-2.5e3,"x\"",true,null],"b":{"c":{}},"d":[]}"#;
        assert_eq!(parse(text).unwrap().to_text(), text);
        let mut m = BTreeMap::new();
        m.insert("z".to_owned(), 1u64);
        m.insert("a".to_owned(), 2u64);
        assert_eq!(to_string(&m), r#"{"a":2,"z":1}"#);
        assert_eq!(to_string(&u64::MAX), "18446744073709551615");
    }
}
