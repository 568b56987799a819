//! `bicep format`: the layout the official formatter gives a file, as far as it can be had
//! from the text itself: LF newlines, 2-space indentation by bracket depth, single spaces
//! between tokens, `key: value`, ` = ` in declarations, empty `{}` / `[]` closed up, at most
//! one blank line in a row, trailing whitespace dropped, one final newline. Comments and
//! strings (multi-line ones included) are kept verbatim. It does not re-break long lines or
//! rewrite what the official pretty printer derives from the syntax tree (spaces between a
//! function name and its parenthesis, for instance).

/// One physical line, split into code and the pieces the formatter must not touch.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Code(String),
    /// A string literal, a comment, or a line-continuing part of a multi-line string.
    Verbatim(String),
}

struct Line {
    pieces: Vec<Piece>,
    /// The line begins inside a multi-line string or block comment: kept exactly as written.
    continued: bool,
}

/// Splits the text into lines of pieces, tracking strings and comments across lines.
fn scan(text: &str) -> Vec<Line> {
    let chars: Vec<char> = text.chars().collect();
    let mut lines = Vec::new();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut code = String::new();
    let mut continued = false;
    let mut i = 0;
    let flush_code = |code: &mut String, pieces: &mut Vec<Piece>| {
        if !code.is_empty() {
            pieces.push(Piece::Code(std::mem::take(code)));
        }
    };
    // Reads a verbatim run from `start` to its end marker (included), `current` holding the
    // opening; a run over several lines is split at the newlines into finished lines.
    #[allow(clippy::too_many_arguments)]
    fn verbatim(
        chars: &[char],
        start: usize,
        mut current: String,
        end_marker: &[char],
        escapes: bool,
        lines: &mut Vec<Line>,
        pieces: &mut Vec<Piece>,
        continued: &mut bool,
    ) -> usize {
        let mut i = start;
        while i < chars.len() {
            if chars[i] == '\n' {
                pieces.push(Piece::Verbatim(std::mem::take(&mut current)));
                lines.push(Line {
                    pieces: std::mem::take(pieces),
                    continued: *continued,
                });
                *continued = true;
                i += 1;
                continue;
            }
            // A comment's newlines are normalised; a multi-line string's are its value.
            if chars[i] == '\r'
                && chars.get(i + 1) == Some(&'\n')
                && !escapes
                && end_marker != ['\'', '\'', '\'']
            {
                i += 1;
                continue;
            }
            if escapes && chars[i] == '\\' && i + 1 < chars.len() {
                current.push(chars[i]);
                current.push(chars[i + 1]);
                i += 2;
                continue;
            }
            if chars[i..].starts_with(end_marker) {
                current.extend(end_marker.iter());
                pieces.push(Piece::Verbatim(current));
                return i + end_marker.len();
            }
            current.push(chars[i]);
            i += 1;
        }
        pieces.push(Piece::Verbatim(current));
        i
    }
    while i < chars.len() {
        let c = chars[i];
        if c == '\r' {
            i += 1;
            continue;
        }
        if c == '\n' {
            flush_code(&mut code, &mut pieces);
            lines.push(Line {
                pieces: std::mem::take(&mut pieces),
                continued,
            });
            continued = false;
            i += 1;
            continue;
        }
        let rest = &chars[i..];
        // `//` comments and `#disable-next-line` pragmas run to the end of the line.
        if c == '#' && code.trim().is_empty() && pieces.is_empty() {
            // A pragma's words are single-spaced; a comment after it is scanned as one.
            flush_code(&mut code, &mut pieces);
            let end = (0..rest.len())
                .find(|&k| {
                    rest[k] == '\n'
                        || rest[k..].starts_with(&['/', '/'])
                        || rest[k..].starts_with(&['/', '*'])
                })
                .unwrap_or(rest.len());
            let words: String = rest[..end].iter().collect();
            let mut pragma = words.split_whitespace().collect::<Vec<_>>().join(" ");
            if rest.get(end) == Some(&'/') {
                pragma.push(' ');
            }
            pieces.push(Piece::Verbatim(pragma));
            i += end;
            continue;
        }
        if rest.starts_with(&['/', '/']) {
            flush_code(&mut code, &mut pieces);
            let end = rest.iter().position(|&c| c == '\n').unwrap_or(rest.len());
            let comment: String = rest[..end].iter().collect();
            pieces.push(Piece::Verbatim(comment.trim_end_matches('\r').to_string()));
            i += end;
            continue;
        }
        let (marker, end_marker, escapes): (usize, &[char], bool) = if rest.starts_with(&['/', '*'])
        {
            (2, &['*', '/'], false)
        } else if rest.starts_with(&['\'', '\'', '\'']) {
            (3, &['\'', '\'', '\''], false)
        } else if c == '$'
            && rest
                .iter()
                .skip_while(|&&c| c == '$')
                .take(3)
                .eq(['\'', '\'', '\''].iter())
        {
            (0, &['\'', '\'', '\''], false)
        } else if c == '\'' {
            // One line only: read to its closing quote, past `${...}` holes and the strings in them.
            flush_code(&mut code, &mut pieces);
            let end = single_line_string_end(&chars, i);
            pieces.push(Piece::Verbatim(chars[i..end].iter().collect()));
            i = end;
            continue;
        } else {
            code.push(c);
            i += 1;
            continue;
        };
        flush_code(&mut code, &mut pieces);
        let start = if marker == 0 {
            // `$'''` / `$$'''`: the dollars and the quotes open the string.
            let dollars = rest.iter().take_while(|&&c| c == '$').count();
            i + dollars + 2
        } else {
            i + marker - 1
        };
        let opening: String = chars[i..=start].iter().collect();
        let end = verbatim(
            &chars,
            start + 1,
            opening,
            end_marker,
            escapes,
            &mut lines,
            &mut pieces,
            &mut continued,
        );
        i = end;
    }
    flush_code(&mut code, &mut pieces);
    if !pieces.is_empty() {
        lines.push(Line { pieces, continued });
    }
    lines
}

/// The index just past the string opening at `start` (a `'`), holes and nested strings included.
fn single_line_string_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while i < chars.len() && chars[i] != '\n' {
        match chars[i] {
            '\\' => i += 2,
            '\'' => return i + 1,
            '$' if chars.get(i + 1) == Some(&'{') => {
                i += 2;
                let mut depth = 1;
                while i < chars.len() && chars[i] != '\n' && depth > 0 {
                    match chars[i] {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        '\'' => {
                            i = single_line_string_end(chars, i);
                            continue;
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    i.min(chars.len())
}

/// Single spaces between tokens, `key: value`, ` = `, `, `.
/// `first`: the piece starts the line; `last`: nothing follows it on the line; `ternaries`:
/// the `?`s still waiting for their `:` on this line (a string may sit between them).
fn space_code(code: &str, first: bool, last: bool, ternaries: &mut usize) -> String {
    let mut out = String::new();
    let mut chars = code.chars().peekable();
    let mut pending_space = false;
    while let Some(c) = chars.next() {
        if c == ' ' || c == '\t' {
            pending_space = !out.is_empty() || !first;
            continue;
        }
        let next = chars.peek().copied();
        let previous = out.chars().last();
        match c {
            ',' => {
                out.push(',');
                pending_space = true;
                continue;
            }
            ':' if next != Some(':') && previous != Some(':') => {
                // A property colon hugs its key; a ternary colon is spaced like an operator.
                // A ternary's colon is spaced; keys, loops and the like hug theirs.
                if *ternaries > 0 && !key_before_colon(&out, first) {
                    *ternaries -= 1;
                    space_before(&mut out, first);
                }
                out.push(':');
                pending_space = true;
                continue;
            }
            '=' if !matches!(previous, Some('=' | '!' | '<' | '>'))
                && !matches!(next, Some('=' | '~' | '>')) =>
            {
                space_before(&mut out, first);
                out.push('=');
                pending_space = true;
                continue;
            }
            // A nullable array type: `int[]?` (a ternary's `?` is followed by its operand).
            '?' if out.ends_with("[]") && matches!(next, None | Some(')' | ',' | '>' | '|')) => {
                out.push('?');
                pending_space = false;
                continue;
            }
            // A union's leading `|` on the declaration's own line is dropped: `= 'a' | 'b'`.
            '|' if next != Some('|') && previous != Some('|') && out.trim_end().ends_with('=') => {
                continue;
            }
            '?' if next != Some('.')
                && next != Some('?')
                && previous != Some('?')
                && previous != Some('.')
                && previous != Some('[')
                && (pending_space
                    || next.is_some_and(|n| !matches!(n, ')' | ']' | ',' | '}' | '='))
                    || (next.is_none() && !last)) =>
            {
                *ternaries += 1;
                space_before(&mut out, first);
                out.push('?');
                pending_space = true;
                continue;
            }
            '+' | '-' | '*' | '%' | '&' | '|' | '?' | '!' | '<' | '>' | '=' | '/'
                if is_binary_operator(c, next, previous, out.is_empty() && !first) =>
            {
                let mut operator = c.to_string();
                if let Some(n) = next.filter(|n| {
                    matches!(
                        (c, n),
                        ('&', '&')
                            | ('|', '|')
                            | ('?', '?')
                            | ('=', '=')
                            | ('!', '=')
                            | ('<', '=')
                            | ('>', '=')
                            | ('=', '~')
                            | ('!', '~')
                    )
                }) {
                    operator.push(n);
                    chars.next();
                }
                space_before(&mut out, first);
                out.push_str(&operator);
                pending_space = true;
                continue;
            }
            ')' | ']' => pending_space = false,
            // A call hugs its parenthesis (`like('a', 'b')`): a name in value position, after
            // `=`, `:`, `,`, `(`, `[` or an operator, that is no keyword.
            '(' if pending_space && called_name(&out) => pending_space = false,
            // An array type's `[]` hugs its element type: `int[][]`.
            '[' if next == Some(']')
                && previous.is_some_and(|p| p.is_alphanumeric() || p == ']')
                && !out.ends_with(" in")
                && out != "in" =>
            {
                pending_space = false
            }
            // One-line objects and import lists are written `{ a: 1 }`.
            '{' => {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                out.push('{');
                pending_space = next.is_some_and(|n| n != '}');
                continue;
            }
            // `{ a: 'x' }`: also after a string (the piece before this one).
            '}' if out.is_empty() && !first => {
                out.push_str(" }");
                continue;
            }
            '}' => {
                pending_space = !out.is_empty() && !out.ends_with('{');
            }
            _ => {}
        }
        if pending_space && !out.is_empty() && !out.ends_with(['(', '[']) {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    if pending_space && (!out.is_empty() || !first) {
        out.push(' ');
    }
    out
}

/// Whether `out` ends with a function's name in value position (so `name (` is a call).
fn called_name(out: &str) -> bool {
    let name_start = out
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .map(|i| i + 1)
        .unwrap_or(0);
    let name = &out[name_start..];
    let before = out[..name_start].trim_end();
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !matches!(name, "if" | "for" | "in" | "and" | "or" | "not")
        && before.ends_with([
            '=', ':', ',', '(', '[', '+', '-', '*', '/', '%', '&', '|', '!', '?', '<', '>',
        ])
}

/// Whether `c` (with the characters around it) is a binary operator the formatter spaces:
/// arithmetic after an operand, `&&`, `||`, `??` and the comparisons written with two characters.
fn is_binary_operator(
    c: char,
    next: Option<char>,
    previous: Option<char>,
    after_string: bool,
) -> bool {
    let operand_before = after_string
        || previous
            .is_some_and(|p| p.is_alphanumeric() || matches!(p, '_' | ')' | ']' | '}' | ' '));
    let spaced_operand = previous.is_some_and(|p| p != ' ') || after_string;
    match (c, next) {
        ('&', Some('&')) | ('|', Some('|')) | ('?', Some('?')) => true,
        // A type union's `|` is spaced like an operator.
        ('|', _) => previous != Some('|'),
        ('=', Some('=' | '~')) | ('!', Some('=' | '~')) => true,
        ('<' | '>', Some('=')) => true,
        // A minus after an operand is binary; `-1` after `(`, `,`, `=` or an operator is not.
        ('+' | '-' | '%', _) => operand_before && (spaced_operand || previous == Some(' ')),
        ('*', _) => {
            operand_before && previous != Some(' ') || (previous == Some(' ') && next == Some(' '))
        }
        ('/', Some(n)) => n != '/' && n != '*' && operand_before,
        _ => false,
    }
}

/// One space before an operator, also when the operand before it was a string (another piece).
fn space_before(out: &mut String, first: bool) {
    if out.is_empty() {
        if !first {
            out.push(' ');
        }
    } else if !out.ends_with(' ') {
        out.push(' ');
    }
}

/// A property colon follows a key at the start of the line or after `{` / `,`.
fn key_before_colon(out: &str, first: bool) -> bool {
    let trimmed = out.trim_end();
    let key_start = trimmed
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '*'))
        .map(|i| i + 1)
        .unwrap_or(0);
    let key = &trimmed[key_start..];
    let before = trimmed[..key_start].trim_end();
    is_key(key) && ((before.is_empty() && first) || before.ends_with(['{', ',']))
}

fn is_key(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '*')
}

/// The line's brackets in order: true for an opener.
fn brackets(pieces: &[Piece]) -> Vec<bool> {
    let mut found = Vec::new();
    for piece in pieces {
        if let Piece::Code(code) = piece {
            for c in code.chars() {
                match c {
                    '{' | '[' | '(' => found.push(true),
                    '}' | ']' | ')' => found.push(false),
                    _ => {}
                }
            }
        }
    }
    found
}

/// Indentation levels: each line that leaves brackets open adds one level however many it
/// opened (`@metadata({` indents once), and the level goes when they all close.
#[derive(Default)]
struct Levels {
    /// Brackets still open per level.
    open: Vec<usize>,
}

impl Levels {
    /// The indentation of a line and the levels after it.
    fn line(&mut self, pieces: &[Piece]) -> usize {
        let events = brackets(pieces);
        let starts_with_closer = pieces
            .iter()
            .find_map(|p| match p {
                Piece::Code(code) if !code.trim().is_empty() => code.trim_start().chars().next(),
                Piece::Code(_) => None,
                Piece::Verbatim(_) => Some('x'),
            })
            .is_some_and(|c| matches!(c, '}' | ']' | ')'));
        let mut indent = None;
        let mut opened_here = false;
        for opener in events {
            if opener {
                if opened_here {
                    if let Some(top) = self.open.last_mut() {
                        *top += 1;
                    }
                } else {
                    self.open.push(1);
                    opened_here = true;
                }
            } else if let Some(top) = self.open.last_mut() {
                *top -= 1;
                if *top == 0 {
                    self.open.pop();
                    opened_here = false;
                    if starts_with_closer && indent.is_none() {
                        indent = Some(self.open.len());
                    }
                }
            }
        }
        indent.unwrap_or_else(|| {
            if opened_here {
                self.open.len() - 1
            } else {
                self.open.len()
            }
        })
    }
}

pub fn format(text: &str) -> String {
    let text = text.trim_start_matches('\u{feff}');
    let lines = scan(text);
    let mut rendered: Vec<(bool, String)> = Vec::new(); // (continued, text)
    let mut levels = Levels::default();
    // Levels opened by `= [for x in xs: {` lines, which the official formatter breaks as
    // `= [` / `for x in xs: {`, indenting the body once more and closing with `}` / `]`.
    let mut loop_levels: Vec<usize> = Vec::new();
    for line in &lines {
        let depth_before = levels.open.len();
        let base_indent = levels.line(&line.pieces);
        let depth_after = levels.open.len();
        let closes_loop = loop_levels.last() == Some(&depth_before) && depth_after < depth_before;
        let inside = loop_levels.iter().filter(|&&l| l <= depth_before).count();
        let indent = base_indent + inside - usize::from(closes_loop);
        let mut ternaries = 0;
        if line.continued {
            // Inside a multi-line string or comment: exact, apart from code after it closes.
            let mut out = String::new();
            for (index, piece) in line.pieces.iter().enumerate() {
                match piece {
                    Piece::Verbatim(text) => out.push_str(text),
                    Piece::Code(code) => out.push_str(&space_code(
                        code,
                        index == 0,
                        index + 1 == line.pieces.len(),
                        &mut ternaries,
                    )),
                }
            }
            let ends_verbatim = matches!(line.pieces.last(), Some(Piece::Verbatim(_)));
            rendered.push((
                true,
                if ends_verbatim {
                    out
                } else {
                    out.trim_end().to_string()
                },
            ));
            continue;
        }
        let mut out = String::new();
        let mut first = true;
        for (index, piece) in line.pieces.iter().enumerate() {
            match piece {
                Piece::Code(code) => {
                    let spaced =
                        space_code(code, first, index + 1 == line.pieces.len(), &mut ternaries);
                    // A quoted key hugs its colon: `'text': value`.
                    let before = &line.pieces[..index];
                    let after_string_key = spaced.trim_start().starts_with(':')
                        && before
                            .iter()
                            .filter(|p| !matches!(p, Piece::Code(c) if c.trim().is_empty()))
                            .count()
                            == 1
                        && before
                            .iter()
                            .any(|p| matches!(p, Piece::Verbatim(key) if key.starts_with('\'')));
                    // `'a' , 'b'` and `('x' )`: nothing before a comma or a closing bracket.
                    let hugs = spaced.trim_start().starts_with([',', ')', ']']);
                    let leading = !after_string_key
                        && !hugs
                        && (spaced.starts_with(' ') || code.starts_with([' ', '\t']));
                    if !first && leading && !out.ends_with(' ') {
                        out.push(' ');
                    }
                    out.push_str(spaced.trim_start());
                    if code.ends_with([' ', '\t']) && !out.ends_with(' ') {
                        out.push(' ');
                    }
                }
                Piece::Verbatim(text) => out.push_str(text),
            }
            if !out.trim().is_empty() {
                first = false;
            }
        }
        let ends_verbatim = matches!(line.pieces.last(), Some(Piece::Verbatim(_)));
        let content = if ends_verbatim {
            out.trim_start().to_string()
        } else {
            out.trim().to_string()
        };
        let opens_loop = depth_after > depth_before
            && line
                .pieces
                .iter()
                .any(|p| matches!(p, Piece::Code(c) if c.contains("[for ")));
        // A one-line `func` wider than the official printer's 120 columns breaks after `=>`.
        let long_function = indent == 0
            && depth_after == depth_before
            && content.starts_with("func ")
            && content.chars().count() > 120;
        if content.is_empty() {
            rendered.push((false, String::new()));
        } else if let (true, Some(at)) = (long_function, content.find(" => ")) {
            rendered.push((false, content[..at + 3].to_string()));
            rendered.push((false, format!("  {}", &content[at + 4..])));
        } else if let (true, Some(at)) = (opens_loop, content.find("[for ")) {
            rendered.push((false, format!("{}{}", "  ".repeat(indent), &content[..=at])));
            rendered.push((
                false,
                format!("{}{}", "  ".repeat(indent + 1), &content[at + 1..]),
            ));
            loop_levels.push(depth_after);
        } else if closes_loop && content.len() > 1 && content[1..].starts_with(']') {
            rendered.push((
                false,
                format!("{}{}", "  ".repeat(indent + 1), &content[..1]),
            ));
            rendered.push((false, format!("{}{}", "  ".repeat(indent), &content[1..])));
            loop_levels.pop();
        } else {
            if closes_loop {
                loop_levels.pop();
            }
            rendered.push((false, format!("{}{content}", "  ".repeat(indent))));
        }
    }
    // Empty objects and arrays close up: `{` then `}` alone on the next line is `{}`.
    let mut joined: Vec<(bool, String)> = Vec::new();
    for (continued, line) in rendered {
        if let Some((false, previous)) = joined.last_mut() {
            let trimmed = line.trim();
            if !continued
                && ((trimmed.starts_with('}') && previous.ends_with('{'))
                    || (trimmed.starts_with(']') && previous.ends_with('[')))
            {
                previous.push_str(trimmed);
                continue;
            }
        }
        joined.push((continued, line.replace("{ }", "{}").replace("[ ]", "[]")));
    }
    // At most one blank line in a row, none at either end.
    let mut out = String::new();
    let mut blank = false;
    for (continued, line) in joined {
        if line.is_empty() && !continued {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        out.push_str(&line);
        out.push('\n');
    }
    if out.is_empty() {
        out.push('\n');
    }
    out
}
