//! `$filter` of ARM's generic resource lists (`Resources_List`,
//! `Resources_ListByResourceGroup`), in the subset ARM accepts:
//!
//! - `resourceType`, `name`, `location`, `resourceGroup` with `eq` / `ne`;
//! - `substringof('x', name)` and `substringof('x', resourceGroup)`;
//! - those joined by `and` / `or` (`and` binding tighter, no parentheses);
//! - on their own only: `tagName eq 'k'`, `tagName eq 'k' and tagValue eq 'v'`,
//!   `startswith(tagName, 'prefix')`.
//!
//! Anything else is refused with ARM's `InvalidFilterInQueryString`: a filter
//! silently ignored would answer with everything and read as a result.

use std::collections::BTreeMap;

use super::error::ArmError;

/// What a filter is evaluated against: one resource's filterable fields.
pub struct Candidate<'a> {
    pub resource_type: &'a str,
    pub name: &'a str,
    pub location: &'a str,
    pub resource_group: &'a str,
    pub tags: &'a BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    ResourceType,
    Name,
    Location,
    ResourceGroup,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Equals {
        property: Property,
        value: String,
        negated: bool,
    },
    /// `substringof(value, property)`; only `name` and `resourceGroup`.
    Contains { property: Property, value: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceFilter {
    /// Alternatives (`or`), each a conjunction (`and`) of conditions.
    Properties(Vec<Vec<Condition>>),
    TagName(String),
    TagNameAndValue {
        name: String,
        value: String,
    },
    TagNamePrefix(String),
}

impl ResourceFilter {
    /// Parses `$filter`; `None` when the query has none (or an empty one).
    pub fn parse(filter: &str) -> Result<Option<Self>, ArmError> {
        if filter.trim().is_empty() {
            return Ok(None);
        }
        let invalid = |reason: String| {
            ArmError::bad_request(
                "InvalidFilterInQueryString",
                format!("Invalid $filter '{filter}' specified in the query string. {reason}"),
            )
        };
        let tokens = tokenize(filter).map_err(invalid)?;
        let alternatives = Parser { tokens, at: 0 }.alternatives().map_err(invalid)?;
        from_terms(alternatives).map(Some).map_err(invalid)
    }

    /// Filtering by tag name and value drops each resource's tags from the
    /// answer, as ARM documents.
    pub fn hides_tags(&self) -> bool {
        matches!(self, Self::TagNameAndValue { .. })
    }

    pub fn matches(&self, candidate: &Candidate) -> bool {
        // Tag names compare case-insensitively, values exactly, as in ARM.
        let tag = |name: &str| {
            candidate
                .tags
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        match self {
            Self::Properties(alternatives) => alternatives
                .iter()
                .any(|all| all.iter().all(|c| c.matches(candidate))),
            Self::TagName(name) => tag(name).is_some(),
            Self::TagNameAndValue { name, value } => tag(name) == Some(value.as_str()),
            Self::TagNamePrefix(prefix) => candidate.tags.keys().any(|k| {
                k.to_ascii_lowercase()
                    .starts_with(&prefix.to_ascii_lowercase())
            }),
        }
    }
}

impl Condition {
    fn matches(&self, candidate: &Candidate) -> bool {
        match self {
            Self::Equals {
                property,
                value,
                negated,
            } => {
                let equal = match property {
                    // "East US 2" names the same region as "eastus2".
                    Property::Location => normalise_location(candidate.location)
                        .eq_ignore_ascii_case(&normalise_location(value)),
                    other => field(candidate, *other).eq_ignore_ascii_case(value),
                };
                equal != *negated
            }
            Self::Contains { property, value } => field(candidate, *property)
                .to_ascii_lowercase()
                .contains(&value.to_ascii_lowercase()),
        }
    }
}

fn field<'a>(candidate: &Candidate<'a>, property: Property) -> &'a str {
    match property {
        Property::ResourceType => candidate.resource_type,
        Property::Name => candidate.name,
        Property::Location => candidate.location,
        Property::ResourceGroup => candidate.resource_group,
    }
}

fn normalise_location(location: &str) -> String {
    location.chars().filter(|c| !c.is_whitespace()).collect()
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
    Comma,
}

fn tokenize(filter: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = filter.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '\'' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        // OData escapes a quote inside a string by doubling it.
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            text.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => text.push(c),
                        None => return Err("A string literal is not closed by a quote.".into()),
                    }
                }
                tokens.push(Token::Text(text));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | ',' | '\'') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

/// A filter term before the combination rules are applied.
#[derive(Debug, Clone, PartialEq)]
enum Term {
    Property(Condition),
    TagName(String),
    TagValue(String),
    TagNamePrefix(String),
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect(&mut self, wanted: Token, what: &str) -> Result<(), String> {
        match self.next() {
            Some(t) if t == wanted => Ok(()),
            _ => Err(format!("Expected {what}.")),
        }
    }

    fn text(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Text(t)) => Ok(t),
            _ => Err("Expected a quoted string such as 'value'.".into()),
        }
    }

    fn word(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Word(w)) => Ok(w),
            _ => Err("Expected a property name.".into()),
        }
    }

    /// `term (and term)* (or term (and term)*)*`
    fn alternatives(mut self) -> Result<Vec<Vec<Term>>, String> {
        let mut alternatives = vec![vec![self.term()?]];
        while let Some(token) = self.next() {
            match token {
                Token::Word(w) if w.eq_ignore_ascii_case("and") => {
                    let term = self.term()?;
                    if let Some(last) = alternatives.last_mut() {
                        last.push(term);
                    }
                }
                Token::Word(w) if w.eq_ignore_ascii_case("or") => {
                    alternatives.push(vec![self.term()?]);
                }
                _ => return Err("Expected 'and' or 'or' between conditions.".into()),
            }
        }
        Ok(alternatives)
    }

    fn term(&mut self) -> Result<Term, String> {
        let word = self.word()?;
        let lower = word.to_ascii_lowercase();
        match lower.as_str() {
            "substringof" => {
                self.expect(Token::Open, "'(' after substringof")?;
                let value = self.text()?;
                self.expect(Token::Comma, "',' in substringof(value, property)")?;
                let property = match self.word()?.to_ascii_lowercase().as_str() {
                    "name" => Property::Name,
                    "resourcegroup" => Property::ResourceGroup,
                    other => {
                        return Err(format!(
                            "substringof supports the properties name and resourceGroup, not '{other}'."
                        ))
                    }
                };
                self.expect(Token::Close, "')' closing substringof")?;
                Ok(Term::Property(Condition::Contains { property, value }))
            }
            "startswith" => {
                self.expect(Token::Open, "'(' after startswith")?;
                if !self.word()?.eq_ignore_ascii_case("tagName") {
                    return Err("startswith supports the property tagName only.".into());
                }
                self.expect(Token::Comma, "',' in startswith(tagName, prefix)")?;
                let prefix = self.text()?;
                self.expect(Token::Close, "')' closing startswith")?;
                Ok(Term::TagNamePrefix(prefix))
            }
            _ => {
                let negated = match self.word()?.to_ascii_lowercase().as_str() {
                    "eq" => false,
                    "ne" => true,
                    other => {
                        return Err(format!(
                            "Expected the operator eq or ne after '{word}', not '{other}'."
                        ))
                    }
                };
                let value = self.text()?;
                let property = match lower.as_str() {
                    "resourcetype" => Property::ResourceType,
                    "name" => Property::Name,
                    "location" => Property::Location,
                    "resourcegroup" => Property::ResourceGroup,
                    "tagname" | "tagvalue" if negated => {
                        return Err(format!("{word} supports the operator eq only."))
                    }
                    "tagname" => return Ok(Term::TagName(value)),
                    "tagvalue" => return Ok(Term::TagValue(value)),
                    _ => {
                        return Err(format!(
                            "'{word}' cannot be filtered on: use resourceType, name, location, resourceGroup, tagName or tagValue."
                        ))
                    }
                };
                Ok(Term::Property(Condition::Equals {
                    property,
                    value,
                    negated,
                }))
            }
        }
    }
}

/// ARM's combination rule: tag filters stand alone (`tagValue` only with
/// one `tagName`); property conditions combine freely with `and` / `or`.
fn from_terms(alternatives: Vec<Vec<Term>>) -> Result<ResourceFilter, String> {
    let has_tag = alternatives
        .iter()
        .flatten()
        .any(|t| !matches!(t, Term::Property(_)));
    if !has_tag {
        let properties = alternatives
            .into_iter()
            .map(|all| {
                all.into_iter()
                    .filter_map(|t| match t {
                        Term::Property(c) => Some(c),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        return Ok(ResourceFilter::Properties(properties));
    }
    let only = match alternatives.as_slice() {
        [only] => only.as_slice(),
        _ => &[],
    };
    match only {
        [Term::TagName(name)] => Ok(ResourceFilter::TagName(name.clone())),
        [Term::TagNamePrefix(prefix)] => Ok(ResourceFilter::TagNamePrefix(prefix.clone())),
        [Term::TagName(name), Term::TagValue(value)] | [Term::TagValue(value), Term::TagName(name)] => {
            Ok(ResourceFilter::TagNameAndValue {
                name: name.clone(),
                value: value.clone(),
            })
        }
        [Term::TagValue(_)] => Err("tagValue must be given with tagName: tagName eq 'name' and tagValue eq 'value'.".into()),
        _ => Err("A tag filter (tagName, tagValue or startswith(tagName, ...)) cannot be combined with other filters: filter by one tag name, optionally with its value, alone.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(filter: &str) -> ResourceFilter {
        ResourceFilter::parse(filter)
            .expect("valid filter")
            .expect("a filter")
    }

    fn refusal(filter: &str) -> String {
        let err = ResourceFilter::parse(filter).expect_err("refused");
        assert_eq!(err.code(), "InvalidFilterInQueryString");
        err.to_string()
    }

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn matches(filter: &str, name: &str, tags: &BTreeMap<String, String>) -> bool {
        parse(filter).matches(&Candidate {
            resource_type: "Microsoft.HardwareSecurityModules/cloudHsmClusters",
            name,
            location: "eastus2",
            resource_group: "Rg1",
            tags,
        })
    }

    #[test]
    fn an_empty_filter_is_none() {
        assert_eq!(ResourceFilter::parse("  ").unwrap(), None);
    }

    #[test]
    fn property_conditions_are_case_insensitive() {
        let none = tags(&[]);
        assert!(matches(
            "resourceType eq 'microsoft.hardwaresecuritymodules/CLOUDHSMCLUSTERS'",
            "chsm1",
            &none
        ));
        assert!(matches("NAME eq 'CHSM1'", "chsm1", &none));
        assert!(!matches("name ne 'chsm1'", "chsm1", &none));
        assert!(matches("location eq 'East US 2'", "chsm1", &none));
        assert!(matches("resourceGroup eq 'rg1'", "chsm1", &none));
        assert!(matches("substringof('HSM', name)", "chsm1", &none));
        assert!(matches("substringof('g1', resourceGroup)", "chsm1", &none));
        assert!(!matches("substringof('x', name)", "chsm1", &none));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let none = tags(&[]);
        let filter = "name eq 'other' and location eq 'eastus2' or substringof('hsm', name)";
        assert!(matches(filter, "chsm1", &none));
        assert!(!matches(
            "name eq 'chsm1' and location eq 'westus'",
            "chsm1",
            &none
        ));
        assert_eq!(
            parse("resourceType eq 'a/b' and substringof('x', name)"),
            ResourceFilter::Properties(vec![vec![
                Condition::Equals {
                    property: Property::ResourceType,
                    value: "a/b".into(),
                    negated: false
                },
                Condition::Contains {
                    property: Property::Name,
                    value: "x".into()
                },
            ]])
        );
    }

    #[test]
    fn tag_filters() {
        let t = tags(&[("Dept", "Finance"), ("env", "prod")]);
        assert!(matches("tagName eq 'dept'", "x", &t));
        assert!(!matches("tagName eq 'owner'", "x", &t));
        assert!(matches(
            "tagname eq 'DEPT' and tagvalue eq 'Finance'",
            "x",
            &t
        ));
        assert!(!matches(
            "tagName eq 'Dept' and tagValue eq 'finance'",
            "x",
            &t
        ));
        assert!(matches("tagValue eq 'prod' and tagName eq 'env'", "x", &t));
        assert!(matches("startswith(tagName, 'de')", "x", &t));
        assert!(!matches("startswith(tagName, 'own')", "x", &t));
        assert!(parse("tagName eq 'a' and tagValue eq 'b'").hides_tags());
        assert!(!parse("tagName eq 'a'").hides_tags());
    }

    #[test]
    fn quotes_inside_strings_are_doubled() {
        assert_eq!(
            parse("tagName eq 'it''s'"),
            ResourceFilter::TagName("it's".into())
        );
    }

    #[test]
    fn tag_filters_do_not_combine() {
        for filter in [
            "tagName eq 'a' and resourceType eq 'x/y'",
            "resourceGroup eq 'rg' and tagName eq 'a' and tagValue eq 'b'",
            "tagName eq 'a' or tagName eq 'b'",
            "startswith(tagName, 'a') and name eq 'b'",
        ] {
            assert!(refusal(filter).contains("cannot be combined"), "{filter}");
        }
        assert!(refusal("tagValue eq 'b'").contains("with tagName"));
    }

    #[test]
    fn malformed_filters_are_refused_with_the_filter_named() {
        let message = refusal("name eq chsm1");
        assert!(
            message.starts_with("Invalid $filter 'name eq chsm1' specified in the query string."),
            "{message}"
        );
        for filter in [
            "name eq 'unterminated",
            "name gt 'a'",
            "plan eq 'a'",
            "name eq 'a' nor name eq 'b'",
            "substringof('a', location)",
            "substringof('a' name)",
            "startswith(name, 'a')",
            "(name eq 'a')",
            "name eq 'a' and",
            "tagName ne 'a'",
        ] {
            refusal(filter);
        }
    }
}
