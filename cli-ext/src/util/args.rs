//! Command lines as key_mgmt_util / cloudhsm_mgmt_util take them: a command
//! name, then `-flag value` pairs, switches (`-nex`) and, for the
//! management-utility forms, positional arguments (`createUser CU cu1 pw`).

use super::UtilError;

/// One `-flag` a command accepts; `value` names its argument, `None` makes
/// it a switch.
#[derive(Clone, Copy)]
pub struct Flag {
    pub name: &'static str,
    pub value: Option<&'static str>,
    pub help: &'static str,
}

pub const fn flag(name: &'static str, value: &'static str, help: &'static str) -> Flag {
    Flag {
        name,
        value: Some(value),
        help,
    }
}

pub const fn switch(name: &'static str, help: &'static str) -> Flag {
    Flag {
        name,
        value: None,
        help,
    }
}

/// What a command accepts, and its help text.
pub struct Spec {
    pub name: &'static str,
    pub summary: &'static str,
    pub flags: &'static [Flag],
    /// Names of the positional arguments, in order (all optional to the
    /// parser; commands say which they need).
    pub positionals: &'static [&'static str],
    pub example: &'static str,
}

impl Spec {
    pub fn usage(&self) -> String {
        let mut text = format!("{}: {}\n\nUsage: {}", self.name, self.summary, self.name);
        for p in self.positionals {
            text.push_str(&format!(" [<{p}>]"));
        }
        for f in self.flags {
            match f.value {
                Some(v) => text.push_str(&format!(" [{} <{v}>]", f.name)),
                None => text.push_str(&format!(" [{}]", f.name)),
            }
        }
        text.push('\n');
        if !self.flags.is_empty() {
            text.push('\n');
            for f in self.flags {
                let left = match f.value {
                    Some(v) => format!("{} <{v}>", f.name),
                    None => f.name.to_string(),
                };
                text.push_str(&format!("    {left:<22} {}\n", f.help));
            }
        }
        text.push_str(&format!("\nExample:\n    {}\n", self.example));
        text
    }
}

/// A parsed command line.
#[derive(Debug, Default)]
pub struct Parsed {
    values: Vec<(&'static str, String)>,
    switches: Vec<&'static str>,
    pub positionals: Vec<String>,
    pub help: bool,
}

/// Parses the arguments of `spec` from `tokens` (which start after the
/// command name). Stops before a token `is_command` recognises, so
/// `singlecmd` can chain commands; returns how many tokens it used.
pub fn parse(
    spec: &Spec,
    tokens: &[String],
    is_command: &dyn Fn(&str) -> bool,
) -> Result<(Parsed, usize), UtilError> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i].as_str();
        if matches!(token, "-h" | "--help" | "-help") {
            parsed.help = true;
            i += 1;
            continue;
        }
        if let Some(flag) = spec.flags.iter().find(|f| f.name == token) {
            match flag.value {
                Some(what) => {
                    let value = tokens.get(i + 1).ok_or_else(|| {
                        UtilError::Usage(format!("{} {token}: missing <{what}>", spec.name))
                    })?;
                    if parsed.values.iter().any(|(n, _)| *n == flag.name) {
                        return Err(UtilError::Usage(format!(
                            "{}: {token} given twice",
                            spec.name
                        )));
                    }
                    parsed.values.push((flag.name, value.clone()));
                    i += 2;
                }
                None => {
                    parsed.switches.push(flag.name);
                    i += 1;
                }
            }
            continue;
        }
        if is_command(token) {
            break;
        }
        // A negative number is a value, not a flag.
        if token.starts_with('-') && token.parse::<i64>().is_err() {
            return Err(UtilError::Usage(format!(
                "{}: unknown flag '{token}' (see '{} -h')",
                spec.name, spec.name
            )));
        }
        if parsed.positionals.len() >= spec.positionals.len() {
            return Err(UtilError::Usage(format!(
                "{}: unexpected argument '{token}' (see '{} -h')",
                spec.name, spec.name
            )));
        }
        parsed.positionals.push(token.to_string());
        i += 1;
    }
    Ok((parsed, i))
}

impl Parsed {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.switches.contains(&name)
    }

    pub fn positional(&self, index: usize) -> Option<&str> {
        self.positionals.get(index).map(String::as_str)
    }

    /// The flag's value, or the positional argument at `index` (the
    /// management-utility form of the same argument).
    pub fn either(&self, name: &str, index: usize) -> Option<&str> {
        self.get(name).or_else(|| self.positional(index))
    }

    /// For commands that take their arguments either as flags (key_mgmt_util)
    /// or by position (cloudhsm_mgmt_util): once any of `flags` is given, a
    /// positional word is not an alternative but a stray one (a mistyped
    /// command in a chain, say), and is refused rather than ignored.
    pub fn one_form(&self, command: &str, flags: &[&str]) -> Result<(), UtilError> {
        let flagged = flags.iter().any(|f| self.get(f).is_some());
        match self.positionals.first() {
            Some(stray) if flagged => Err(UtilError::Usage(format!(
                "{command}: unexpected argument '{stray}' (see '{command} -h')"
            ))),
            _ => Ok(()),
        }
    }

    pub fn require<'a>(&'a self, value: Option<&'a str>, what: &str) -> Result<&'a str, UtilError> {
        value.ok_or_else(|| UtilError::Usage(format!("missing {what}")))
    }

    /// A required numeric flag.
    pub fn number<T: std::str::FromStr>(&self, name: &str, what: &str) -> Result<T, UtilError> {
        let text = self.require(self.get(name), &format!("{name} <{what}>"))?;
        parse_number(text, name)
    }

    /// An optional numeric flag.
    pub fn number_or<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, UtilError> {
        match self.get(name) {
            Some(text) => parse_number(text, name),
            None => Ok(default),
        }
    }
}

/// Decimal or `0x` hexadecimal, as the utilities accept handles and ids.
pub fn parse_number<T: std::str::FromStr>(text: &str, name: &str) -> Result<T, UtilError> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16)
            .ok()
            .and_then(|n| n.to_string().parse().ok()),
        None => text.parse().ok(),
    };
    parsed.ok_or_else(|| UtilError::Usage(format!("{name}: '{text}' is not a valid number")))
}

/// Splits an interactive line into words: whitespace separates, single or
/// double quotes keep spaces (`-l "my key"`), a backslash escapes one
/// character.
pub fn split_line(line: &str) -> Result<Vec<String>, UtilError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                    in_word = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(UtilError::Usage("unterminated quote".into()));
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: Spec = Spec {
        name: "genSymKey",
        summary: "",
        flags: &[flag("-t", "type", ""), switch("-nex", "")],
        positionals: &[],
        example: "",
    };

    fn words(s: &str) -> Vec<String> {
        split_line(s).unwrap()
    }

    #[test]
    fn flags_switches_and_chaining() {
        let tokens = words("-t 31 -nex findKey -l x");
        let (parsed, used) = parse(&SPEC, &tokens, &|t| t == "findKey").unwrap();
        assert_eq!(used, 3);
        assert_eq!(parsed.get("-t"), Some("31"));
        assert!(parsed.has("-nex"));
        assert!(parse(&SPEC, &words("-q 1"), &|_| false).is_err());
        assert!(parse(&SPEC, &words("-t"), &|_| false).is_err());
        assert!(parse(&SPEC, &words("-t 1 -t 2"), &|_| false).is_err());
        assert!(parse(&SPEC, &words("extra"), &|_| false).is_err());
    }

    #[test]
    fn quotes_and_numbers() {
        assert_eq!(words(r#"a "b c" 'd' e\ f"#), ["a", "b c", "d", "e f"]);
        assert!(split_line("\"open").is_err());
        assert_eq!(parse_number::<u64>("0x1f", "-t").unwrap(), 31);
        assert!(parse_number::<u64>("x", "-t").is_err());
    }
}
