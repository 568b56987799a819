//! `#disable-next-line`, `#disable-diagnostics` and `#restore-diagnostics`: trivia that
//! turns off the named warnings, as the official compiler's pragmas do.

mod support;

use support::{compile, diagnostics};

const HSM: &str = "resource hsm 'Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31' = {\n  name: 'h'\n  location: 'eastus'\n  sku: {\n    family: 'B'\n    name: 'Standard_B1'\n";

fn codes(text: &str) -> Vec<(usize, String)> {
    diagnostics(text)
        .into_iter()
        .map(|(line, _, code, _)| (line, code))
        .collect()
}

#[test]
fn disable_next_line_suppresses_the_named_code_on_the_next_line_only() {
    let text = format!("{HSM}    #disable-next-line BCP037 no-unused-params\n    size: 3\n    other: 4\n  }}\n}}\n");
    assert_eq!(codes(&text), vec![(9, "BCP037".to_string())]);
    // Another code named: the warning stays.
    let text = format!("{HSM}    #disable-next-line BCP036\n    size: 3\n  }}\n}}\n");
    assert_eq!(codes(&text), vec![(8, "BCP037".to_string())]);
}

#[test]
fn disable_diagnostics_holds_until_restore() {
    let text = format!("{HSM}#disable-diagnostics BCP037\n    size: 3\n    other: 4\n#restore-diagnostics BCP037\n    third: 5\n  }}\n}}\n");
    assert_eq!(codes(&text), vec![(11, "BCP037".to_string())]);
    let text = format!(
        "{HSM}#disable-diagnostics   BCP037 // to the end\n    size: 3\n    other: 4\n  }}\n}}\n"
    );
    assert!(codes(&text).is_empty());
}

#[test]
fn a_directive_is_trivia_and_emits_nothing() {
    let template = compile("#disable-next-line no-unused-params\nparam p string = 'x'\n// #disable-next-line in a comment\nvar s = '#disable-next-line x'\noutput o string = s\n");
    assert_eq!(template["variables"]["s"], "#disable-next-line x");
    assert_eq!(template["parameters"]["p"]["defaultValue"], "x");
}

#[test]
fn a_directive_without_codes_is_bcp226() {
    let found = diagnostics("#disable-next-line\nparam p string\n");
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].0, found[0].1, found[0].2.as_str()),
        (1, 1, "BCP226")
    );
    assert_eq!(found[0].3, "Expected at least one diagnostic code at this location. Valid format is \"#disable-next-line diagnosticCode1 diagnosticCode2 ...\"");
    // Not at the start of a line: no directive, the '#' is an unknown token.
    let found = diagnostics("param p string #disable-next-line BCP037\n");
    assert!(found.iter().any(|d| d.2 == "BCP001"), "{found:?}");
}
