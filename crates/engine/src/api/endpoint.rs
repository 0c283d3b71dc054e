//! Which URLs the client will talk to. Plain http is allowed only to this machine, so neither
//! credentials nor a signed link ever cross a network in clear text.

use std::net::IpAddr;

use url::{Host, Url};

use super::ApiError;

pub const DEFAULT_API_URL: &str = "https://api.cloud.scenario.com/v1";

/// Parses an API base URL (`--api-url`, `SCENARIO_API_URL`, config) and checks its scheme.
pub fn parse_api_url(text: &str) -> Result<Url, ApiError> {
    let mut url = Url::parse(text.trim()).map_err(|e| ApiError::InvalidUrl {
        url: crate::sanitize::sanitize(&without_userinfo(text)),
        rule: e.to_string(),
    })?;
    check_url(&url)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(&url, "must not carry a query or fragment"));
    }
    // A trailing slash would make every joined path start with "//".
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

/// Refuses URLs that could leak: plain http off loopback, or user:password inside the URL.
pub fn check_url(url: &Url) -> Result<(), ApiError> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(url, "must not contain a user name or password"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(invalid(
            url,
            "plain http:// is allowed only for loopback hosts (127.0.0.0/8, ::1, localhost); use https://",
        )),
        other => Err(invalid(url, &format!("scheme {other}: is not http(s)"))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// A URL's text with any `user:password@` taken out, for showing it: works on text that is
/// not a valid URL too, since that is when it gets echoed in an error.
pub fn without_userinfo(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &text[..scheme_end + 3], &rest[at + 1..]),
        None => text.to_string(),
    }
}

fn invalid(url: &Url, rule: &str) -> ApiError {
    let mut shown = url.clone();
    // Never echo a user or password back, even in an error.
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    ApiError::InvalidUrl {
        url: crate::sanitize::sanitize(shown.as_str()),
        rule: rule.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_never_shown() {
        assert_eq!(
            without_userinfo("https://me:s3cret@api.example/v1?x=a@b"),
            "https://api.example/v1?x=a@b"
        );
        assert_eq!(without_userinfo("http://u:p@h:99"), "http://h:99");
        assert_eq!(without_userinfo("not a url u:p@h"), "not a url u:p@h");
        for text in [
            "https://me:s3cret@api.example/v1",
            "http://me:s3cret@[bad/v1",
        ] {
            let err = parse_api_url(text).unwrap_err().to_string();
            assert!(!err.contains("s3cret") && !err.contains("me:"), "{err}");
        }
    }

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(parse_api_url(DEFAULT_API_URL).is_ok());
        for ok in [
            "http://127.0.0.1:8080/v1",
            "http://127.9.9.9/v1",
            "http://[::1]:1/v1",
            "http://localhost:3000/v1/",
        ] {
            assert!(parse_api_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.cloud.scenario.com/v1",
            "http://10.0.0.1/v1",
            "http://128.0.0.1/v1",
            "ftp://127.0.0.1/v1",
            "https://k:s@api.example/v1",
            "not a url",
            // No Unicode host names: a look-alike is refused, not mapped to another host.
            "https://scenаrio.com/v1",
        ] {
            assert!(parse_api_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trailing_slash_is_dropped_and_password_never_echoed() {
        assert_eq!(
            parse_api_url("http://localhost:3000/v1/").unwrap().as_str(),
            "http://localhost:3000/v1"
        );
        let err = parse_api_url("https://k:hunter2@api.example/v1").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
