//! `azureStorageBlobContainerUri`: which account and container a backup
//! goes to. Both URL styles Blob Storage clients use are understood:
//! path style for emulators and IP addresses (`https://127.0.0.1:10000/devstoreaccount1/backups`,
//! as Azurite serves it) and host style for named endpoints
//! (`https://myaccount.blob.core.windows.net/backups`).

use url::Url;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUri {
    pub url: Url,
    pub account: String,
    pub container: String,
}

/// Why a URI was refused; the message is shown to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidUri(pub String);

fn is_path_style(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => true,
        url::Host::Domain(d) => *d == "localhost" || !d.contains('.'),
    }
}

/// Container names: 3–63 lowercase letters, digits and single hyphens,
/// starting and ending with a letter or digit (Blob Storage's rule).
fn valid_container(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

pub fn parse(text: &str) -> Result<ContainerUri, InvalidUri> {
    let refuse = |why: &str| {
        InvalidUri(format!(
            "The azureStorageBlobContainerUri '{text}' is invalid: {why}. Expected a Blob Storage container URL such as https://myaccount.blob.core.windows.net/backups or, for Azurite, https://127.0.0.1:10000/devstoreaccount1/backups."
        ))
    };
    let url = Url::parse(text).map_err(|_| refuse("it is not an absolute URL"))?;
    if url.scheme() != "https" {
        return Err(refuse(
            "it must use https (the managed identity's bearer token is only sent over TLS)",
        ));
    }
    if url.query().is_some() {
        return Err(refuse(
            "it must not carry a query: SAS tokens are not supported, the cluster's managed identity is used",
        ));
    }
    let host = url.host().ok_or_else(|| refuse("it has no host"))?;
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let (account, container) = if is_path_style(&host) {
        match segments.as_slice() {
            [account, container] => (account.to_string(), container.to_string()),
            _ => return Err(refuse("a path-style URL names /{account}/{container}")),
        }
    } else {
        let account = url
            .host_str()
            .and_then(|h| h.split('.').next())
            .unwrap_or_default()
            .to_string();
        match segments.as_slice() {
            [container] => (account, container.to_string()),
            _ => return Err(refuse("the path names exactly one container")),
        }
    };
    if !valid_container(&container) {
        return Err(refuse(
            "container names are 3-63 lowercase letters, digits and hyphens",
        ));
    }
    if account.is_empty() {
        return Err(refuse("it names no storage account"));
    }
    Ok(ContainerUri {
        url,
        account,
        container,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_host_style() {
        let azurite = parse("https://127.0.0.1:10000/devstoreaccount1/backups").unwrap();
        assert_eq!(
            (azurite.account.as_str(), azurite.container.as_str()),
            ("devstoreaccount1", "backups")
        );
        let azure = parse("https://acct.blob.core.windows.net/backups").unwrap();
        assert_eq!(
            (azure.account.as_str(), azure.container.as_str()),
            ("acct", "backups")
        );
    }

    #[test]
    fn refusals() {
        for bad in [
            "not a url",
            "http://127.0.0.1:10000/devstoreaccount1/backups",
            "https://127.0.0.1:10000/devstoreaccount1",
            "https://127.0.0.1:10000/devstoreaccount1/Backups",
            "https://127.0.0.1:10000/devstoreaccount1/backups?sv=1&sig=x",
            "https://acct.blob.core.windows.net/a/b",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
