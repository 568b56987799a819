//! The `$filter` clauses the Azure CLI sends for service principals, joined
//! by `and`:
//! `servicePrincipalNames/any(c:c eq 'X')`, `appId eq 'X'`, `id eq 'X'`,
//! `displayName eq 'X'` and `startswith(displayName,'X')`. Anything else is
//! refused rather than guessed at. Comparisons ignore case, as Graph's do
//! for these properties.

use super::directory::ServicePrincipal;

#[derive(Debug, PartialEq)]
pub enum Clause {
    ServicePrincipalName(String),
    AppId(String),
    Id(String),
    DisplayName(String),
    DisplayNameStartsWith(String),
}

impl Clause {
    pub fn matches(&self, sp: &ServicePrincipal) -> bool {
        match self {
            Self::ServicePrincipalName(name) => sp
                .service_principal_names()
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name)),
            Self::AppId(app_id) => sp.app_id.eq_ignore_ascii_case(app_id),
            Self::Id(id) => sp.id.eq_ignore_ascii_case(id),
            Self::DisplayName(name) => sp.display_name.eq_ignore_ascii_case(name),
            Self::DisplayNameStartsWith(prefix) => sp
                .display_name
                .to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase()),
        }
    }
}

/// Parses a whole `$filter`; `Err` names the clause the emulator cannot evaluate.
pub fn parse(filter: &str) -> Result<Vec<Clause>, String> {
    split_and(filter)
        .into_iter()
        .map(|clause| parse_clause(clause.trim()).ok_or_else(|| clause.trim().to_string()))
        .collect()
}

/// Splits on ` and ` outside string literals.
fn split_and(filter: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_literal = false;
    let mut start = 0;
    let bytes = filter.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            in_literal = !in_literal; // '' inside a literal toggles twice
        } else if !in_literal
            && bytes[i..]
                .get(..5)
                .is_some_and(|w| w.eq_ignore_ascii_case(b" and "))
        {
            parts.push(&filter[start..i]);
            start = i + 5;
            i += 5;
            continue;
        }
        i += 1;
    }
    parts.push(&filter[start..]);
    parts
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `'text'` with `''` for a quote; the whole of `s` must be the literal.
fn literal(s: &str) -> Option<String> {
    let inner = s.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    if inner.replace("''", "").contains('\'') {
        return None;
    }
    Some(inner.replace("''", "'"))
}

fn parse_clause(clause: &str) -> Option<Clause> {
    if let Some(rest) = strip_prefix_ci(clause, "servicePrincipalNames/any(") {
        // `c:c eq 'X')`, whatever the lambda variable is called.
        let (var, body) = rest.split_once(':')?;
        let body = body.trim_start().strip_prefix(var.trim())?;
        let value = strip_prefix_ci(body.trim_start(), "eq ")?.strip_suffix(')')?;
        return literal(value).map(Clause::ServicePrincipalName);
    }
    if let Some(rest) = strip_prefix_ci(clause, "startswith(") {
        let (property, value) = rest.strip_suffix(')')?.split_once(',')?;
        return property
            .trim()
            .eq_ignore_ascii_case("displayName")
            .then(|| literal(value).map(Clause::DisplayNameStartsWith))?;
    }
    let at = clause.to_ascii_lowercase().find(" eq ")?;
    let (property, value) = (clause[..at].trim(), literal(&clause[at + 4..])?);
    match property.to_ascii_lowercase().as_str() {
        "appid" => Some(Clause::AppId(value)),
        "id" => Some(Clause::Id(value)),
        "displayname" => Some(Clause::DisplayName(value)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clauses_the_cli_sends() {
        assert_eq!(
            parse("servicePrincipalNames/any(c:c eq 'abc')"),
            Ok(vec![Clause::ServicePrincipalName("abc".into())])
        );
        assert_eq!(
            parse("servicePrincipalNames/any(x: x eq 'a and b') and startswith(displayName,'id')"),
            Ok(vec![
                Clause::ServicePrincipalName("a and b".into()),
                Clause::DisplayNameStartsWith("id".into()),
            ])
        );
        assert_eq!(
            parse("appId eq 'A' AND displayName eq 'it''s'"),
            Ok(vec![
                Clause::AppId("A".into()),
                Clause::DisplayName("it's".into())
            ])
        );
    }

    #[test]
    fn anything_else_is_named_back() {
        assert_eq!(
            parse("appId eq 'a' and accountEnabled eq true"),
            Err("accountEnabled eq true".into())
        );
        assert_eq!(
            parse("tags/any(t:t eq 'x')"),
            Err("tags/any(t:t eq 'x')".into())
        );
        assert_eq!(
            parse("appId eq 'unterminated"),
            Err("appId eq 'unterminated".into())
        );
    }
}
