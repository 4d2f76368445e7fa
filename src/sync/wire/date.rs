//! `createdAt` on the wire: milliseconds since the Unix epoch ↔ ISO-8601 text as JavaScript's
//! `Date.prototype.toISOString` writes it (`2024-01-02T03:04:05.006Z`, years past 9999 as
//! `+275760-…`).

const MS_PER_DAY: u64 = 86_400_000;

#[cfg(feature = "server")]
/// Appends `ms` as `toISOString` writes it, quoted.
pub(crate) fn push_iso(out: &mut String, ms: u64) {
    let days = (ms / MS_PER_DAY) as i64;
    let rest = ms % MS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    out.push('"');
    if year > 9999 {
        out.push('+');
        pad(out, year as u64, 6);
    } else {
        pad(out, year as u64, 4);
    }
    for (sep, n, width) in [
        ('-', u64::from(month), 2),
        ('-', u64::from(day), 2),
        ('T', rest / 3_600_000, 2),
        (':', rest / 60_000 % 60, 2),
        (':', rest / 1000 % 60, 2),
        ('.', rest % 1000, 3),
    ] {
        out.push(sep);
        pad(out, n, width);
    }
    out.push_str("Z\"");
}

/// The milliseconds of an ISO-8601 UTC date as `toISOString` writes it; `None` for another text.
pub(crate) fn parse_iso(text: &str) -> Option<u64> {
    let (year, rest) = match text.strip_prefix('+') {
        Some(t) => (t.get(..6)?.parse::<i64>().ok()?, t.get(6..)?),
        None => (text.get(..4)?.parse::<i64>().ok()?, text.get(4..)?),
    };
    let b = rest.as_bytes();
    if b.len() != 20 || b[19] != b'Z' {
        return None;
    }
    for (i, sep) in [
        (0, b'-'),
        (3, b'-'),
        (6, b'T'),
        (9, b':'),
        (12, b':'),
        (15, b'.'),
    ] {
        if b[i] != sep {
            return None;
        }
    }
    let num = |from: usize, len: usize| -> Option<u64> {
        let s = rest.get(from..from + len)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let (month, day) = (num(1, 2)?, num(4, 2)?);
    let (hour, minute, second, milli) = (num(7, 2)?, num(10, 2)?, num(13, 2)?, num(16, 3)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    let days = u64::try_from(days).ok()?;
    Some(days * MS_PER_DAY + hour * 3_600_000 + minute * 60_000 + second * 1000 + milli)
}

#[cfg(feature = "server")]
fn pad(out: &mut String, n: u64, width: usize) {
    let mut digits = String::new();
    crate::row::push_u64(&mut digits, n);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

#[cfg(feature = "server")]
/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The day count since 1970-01-01 of a civil date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(all(test, feature = "server"))]
mod tests {
    use super::*;

    #[test]
    fn dates_read_and_write_as_javascript_does() {
        for (ms, iso) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (253_402_300_800_000, "+010000-01-01T00:00:00.000Z"),
            (8_640_000_000_000_000, "+275760-09-13T00:00:00.000Z"),
        ] {
            let mut out = String::new();
            push_iso(&mut out, ms);
            assert_eq!(out, format!("\"{iso}\""));
            assert_eq!(parse_iso(iso), Some(ms), "{iso}");
        }
        for bad in [
            "",
            "2023-11-14",
            "2023-13-14T22:13:20.123Z",
            "2023-11-14T22:13:20.123",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }
}
