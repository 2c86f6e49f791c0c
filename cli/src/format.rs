//! Number and error formatting for the terminal.

/// A count with an SI suffix: `950`, `12.35k`, `300.77M`, `4.10G`.
pub fn human_count(n: u64) -> String {
    let f = n as f64;
    if n < 1_000 {
        n.to_string()
    } else if n < 1_000_000 {
        format!("{:.2}k", f / 1e3)
    } else if n < 1_000_000_000 {
        format!("{:.2}M", f / 1e6)
    } else {
        format!("{:.2}G", f / 1e9)
    }
}

/// The error and its causes on one line, separated by ": ". A cause whose text the message
/// already contains is not repeated. Control characters, which a hostile model can put into
/// tensor names, are escaped.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if message.is_empty() {
            message = text;
        } else if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// `"2.50x faster than"` for a speed ratio of 2.5, `"2.00x slower than"` for 0.5.
pub fn faster_or_slower(ratio: f64) -> String {
    if ratio >= 1.0 || ratio <= 0.0 || !ratio.is_finite() {
        format!("{ratio:.2}x faster than")
    } else {
        format!("{:.2}x slower than", 1.0 / ratio)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_use_si_suffixes() {
        assert_eq!(human_count(999), "999");
        assert_eq!(human_count(1_500), "1.50k");
        assert_eq!(human_count(2_000_000), "2.00M");
        assert_eq!(human_count(3_100_000_000), "3.10G");
    }

    #[test]
    fn causes_are_printed_once_and_control_characters_escaped() {
        let e = anyhow::Error::new(std::io::Error::other("disk full")).context("cannot write a\nb");
        assert_eq!(one_line(&e), "cannot write a\\nb: disk full");
        let repeated = anyhow::anyhow!("inner").context("outer: inner");
        assert_eq!(one_line(&repeated), "outer: inner");
    }

    #[test]
    fn ratios_read_as_faster_or_slower() {
        assert_eq!(super::faster_or_slower(2.5), "2.50x faster than");
        assert_eq!(super::faster_or_slower(0.5), "2.00x slower than");
    }
}
