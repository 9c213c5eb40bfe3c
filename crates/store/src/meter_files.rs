//! Meter data files: interval readings as households export them from their
//! meter or utility, checked against the market's delivery rules. A file
//! imports whole or not at all: the first problem found is returned, naming
//! where it is ("line 4", "IntervalReading 5 (entry 4)") and what is wrong.
//!
//! [`parse`] tells the two formats apart by content: a file whose first
//! character (after any byte order mark and whitespace) is `<` is Green
//! Button XML, anything else is CSV.
//!
//! # CSV
//!
//! UTF-8 (a byte order mark is allowed), comma-separated, fields may be quoted
//! (`"..."`, with `""` for a quote inside). A header line is required, either
//!
//! ```text
//! household,interval_start,import_kwh,export_kwh
//! ```
//!
//! or, for a file of one household's own meter, the same without `household`:
//!
//! ```text
//! interval_start,import_kwh,export_kwh
//! ```
//!
//! The columns come in that order; the header's names are matched ignoring
//! ASCII case. Each following line is one reading:
//!
//! - `household`: the household's username, not empty.
//! - `interval_start`: an RFC 3339 time, `2026-06-01T12:00:00Z` or with an
//!   offset (`2026-06-01T14:00:00+02:00` is the same interval), on the start
//!   of one of the market's delivery intervals (see
//!   [`DeliveryRules::check_aligned`]).
//! - `import_kwh`: energy drawn from the grid connection in the interval, and
//!   `export_kwh`: energy fed into it; each a plain decimal of 0 to 10,000 kWh
//!   with at most 3 decimal places (see [`WattHours::parse_reading`]).
//!
//! Blank lines are skipped, whitespace around a field is ignored. A line with
//! the wrong number of fields, a bad value, or a second reading of the same
//! household (or, without the column, the same file) and interval is an
//! error naming the line's 1-based number in the file (the first line of a
//! record whose quoted field spans lines). So is a file without the header or
//! without any readings. Rows are returned in the file's order.
//!
//! ```text
//! household,interval_start,import_kwh,export_kwh
//! Alice,2026-06-01T12:00:00Z,0,8
//! Bob,2026-06-01T12:00:00Z,2.5,0
//! ```
//!
//! # Green Button
//!
//! A Green Button "Download My Data" file: a NAESB ESPI 1.x Atom feed
//! (namespace `http://naesb.org/espi`), whose `entry` elements each hold one
//! resource in their `content`. Elements are matched on their local names, so
//! `espi:` (or any) prefixes and default namespaces are all accepted. Used:
//!
//! - `ReadingType`: `flowDirection` 1 (forward: energy delivered to the
//!   customer, an import) or 19 (reverse: energy received from the customer,
//!   an export), `uom` 72 (Wh, the only unit accepted) and
//!   `powerOfTenMultiplier` (0 when absent). Every ReadingType in the file
//!   must be one of these.
//! - `IntervalBlock`: its `IntervalReading`s, each a `timePeriod` (`duration`
//!   in seconds, which must be the market's interval, and `start` in Unix
//!   seconds, which must start one of its intervals) and a `value`. The
//!   energy, `value × 10^powerOfTenMultiplier` Wh, must be a whole number of
//!   0 to 10,000 kWh.
//! - `MeterReading`: links a block to its ReadingType. A block's entry links
//!   `rel="up"` to its MeterReading's block collection
//!   (`.../MeterReading/1/IntervalBlock`), which lies under that MeterReading
//!   entry's `rel="self"` link (`.../MeterReading/1`); the MeterReading's
//!   `rel="related"` links include its ReadingType entry's `rel="self"` link.
//!   When they do not resolve and the file has exactly one ReadingType, that
//!   one applies.
//!
//! Everything else (`UsagePoint`, `LocalTimeParameters`, `UsageSummary`,
//! costs, reading qualities...) is ignored. Import and export readings of the
//! same start become one row, household `None`, sorted by start. A file with
//! ReadingTypes of only one direction counts the other as 0; a file with both
//! needs both for every interval. Entries are numbered from 1 in file order,
//! an entry's IntervalReadings from 1. Malformed XML is an error at its line
//! and byte offset.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use lumea_market::delivery::{DeliveryRules, WattHours};
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// One reading from a file: the household it names (CSV only, optional), the interval start, import and export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeterRow {
    pub household: Option<String>,
    pub interval_start: DateTime<Utc>,
    pub import: WattHours,
    pub export: WattHours,
}

/// Why a file cannot be imported: where (e.g. "line 3", "IntervalReading 5 (entry 4)") and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct MeterFileError {
    pub location: String,
    pub problem: String,
}

impl MeterFileError {
    fn new(location: impl Into<String>, problem: impl Into<String>) -> MeterFileError {
        MeterFileError {
            location: location.into(),
            problem: problem.into(),
        }
    }

    fn no_readings() -> MeterFileError {
        MeterFileError::new("end of file", "the file holds no readings")
    }
}

/// By content: XML (starts, after whitespace/BOM, with '<') is Green Button, anything else CSV.
pub fn parse(text: &str, rules: &DeliveryRules) -> Result<Vec<MeterRow>, MeterFileError> {
    let start = text.trim_start_matches(|c: char| c == BOM || c.is_whitespace());
    if start.starts_with('<') {
        parse_green_button(text, rules)
    } else {
        parse_csv(text, rules)
    }
}

const BOM: char = '\u{feff}';

/// The CSV header's columns; without households, all but the first.
static HEADER: [&str; 4] = ["household", "interval_start", "import_kwh", "export_kwh"];

/// A CSV meter file (see the module's documentation).
pub fn parse_csv(text: &str, rules: &DeliveryRules) -> Result<Vec<MeterRow>, MeterFileError> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut lines = Lines::new(text);
    let mut record = csv::StringRecord::new();
    // Whether the header names households; `None` until the header is read.
    let mut households: Option<bool> = None;
    let mut first_lines: HashMap<(Option<String>, DateTime<Utc>), usize> = HashMap::new();
    let mut rows = Vec::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => {
                let byte = err.position().map_or(text.len(), |position| to_usize(position.byte()));
                return Err(MeterFileError::new(format!("line {}", lines.at(byte)), format!("unreadable CSV: {err}")));
            }
        }
        // A record's position is where the previous one ended: its first line
        // is past any line ends (and the empty lines the reader skipped).
        let after_previous = record.position().map_or(0, |position| to_usize(position.byte()));
        let line = lines.at(skip_line_ends(text, after_previous));
        let fields: Vec<&str> = record.iter().map(str::trim).collect();
        if fields.len() == 1 && fields[0].is_empty() {
            continue; // a line of whitespace
        }
        let location = format!("line {line}");
        let Some(with_households) = households else {
            let found = header(&fields).ok_or_else(|| {
                MeterFileError::new(
                    &location,
                    format!(
                        "expected the header {} (or {} without households), found {:?}",
                        HEADER.join(","),
                        HEADER[1..].join(","),
                        fields.join(",")
                    ),
                )
            })?;
            households = Some(found);
            continue;
        };
        let row = csv_row(&fields, with_households, rules).map_err(|problem| MeterFileError::new(&location, problem))?;
        if let Some(first) = first_lines.insert((row.household.clone(), row.interval_start), line) {
            let whose = match &row.household {
                Some(household) => format!(" for household {household:?}"),
                None => String::new(),
            };
            return Err(MeterFileError::new(
                location,
                format!(
                    "a second reading{whose} at {} (the first is on line {first})",
                    rfc3339(row.interval_start)
                ),
            ));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(MeterFileError::no_readings());
    }
    Ok(rows)
}

/// Whether a header line names households (`Some(true)`), does not
/// (`Some(false)`), or is not the header.
fn header(fields: &[&str]) -> Option<bool> {
    if same_names(fields, &HEADER[..]) {
        Some(true)
    } else if same_names(fields, &HEADER[1..]) {
        Some(false)
    } else {
        None
    }
}

fn same_names(fields: &[&str], names: &[&str]) -> bool {
    fields.len() == names.len() && fields.iter().zip(names).all(|(field, name)| field.eq_ignore_ascii_case(name))
}

fn csv_row(fields: &[&str], with_households: bool, rules: &DeliveryRules) -> Result<MeterRow, String> {
    let columns = if with_households { &HEADER[..] } else { &HEADER[1..] };
    if fields.len() != columns.len() {
        return Err(format!(
            "expected {} fields ({}), found {}",
            columns.len(),
            columns.join(","),
            fields.len()
        ));
    }
    let (household, values) = if with_households {
        if fields[0].is_empty() {
            return Err("household is empty".to_string());
        }
        (Some(fields[0].to_string()), &fields[1..])
    } else {
        (None, fields)
    };
    Ok(MeterRow {
        household,
        interval_start: csv_interval_start(values[0], rules)?,
        import: kwh("import_kwh", values[1])?,
        export: kwh("export_kwh", values[2])?,
    })
}

fn csv_interval_start(text: &str, rules: &DeliveryRules) -> Result<DateTime<Utc>, String> {
    let start = DateTime::parse_from_rfc3339(text)
        .map_err(|_| format!("interval_start {text:?} is not an RFC 3339 time such as 2026-06-01T12:00:00Z"))?
        .to_utc();
    rules
        .check_aligned(start)
        .map_err(|_| format!("interval_start {text:?} {}", not_an_interval_start(rules)))?;
    Ok(start)
}

fn kwh(column: &str, text: &str) -> Result<WattHours, String> {
    WattHours::parse_reading(text).ok_or_else(|| format!("{column} {text:?} is not 0 to 10,000 kWh with at most 3 decimals"))
}

fn not_an_interval_start(rules: &DeliveryRules) -> String {
    format!("is not the start of one of the market's {}-minute intervals", rules.interval_minutes)
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The first byte at or after `byte` that is not a line end.
fn skip_line_ends(text: &str, byte: usize) -> usize {
    let bytes = text.as_bytes();
    let mut at = byte.min(bytes.len());
    while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
        at += 1;
    }
    at
}

/// 1-based line numbers of byte offsets, counted on from the last one asked.
struct Lines<'a> {
    text: &'a [u8],
    byte: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        Lines {
            text: text.as_bytes(),
            byte: 0,
            line: 1,
        }
    }

    fn at(&mut self, byte: usize) -> usize {
        let byte = byte.min(self.text.len());
        if byte < self.byte {
            self.byte = 0;
            self.line = 1;
        }
        self.line += self.text[self.byte..byte].iter().filter(|&&b| b == b'\n').count();
        self.byte = byte;
        self.line
    }
}

/// An XML element as read: its local name, its attributes by local name,
/// its child elements, its own text (entity references resolved, CDATA
/// included), and the byte offset of its `<`.
#[derive(Debug)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
    offset: usize,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    fn children<'e>(&'e self, name: &'e str) -> impl Iterator<Item = &'e Element> {
        self.children.iter().filter(move |child| child.name == name)
    }

    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// Where a byte of the XML is: its line and its offset in the file as given
/// (`shift`: the length of a byte order mark stripped before parsing).
fn xml_location(xml: &str, byte: usize, shift: usize) -> String {
    let byte = byte.min(xml.len());
    let line = 1 + xml.as_bytes()[..byte].iter().filter(|&&b| b == b'\n').count();
    format!("line {line} (byte {})", byte + shift)
}

/// A malformed-XML error at a byte of the document.
fn malformed(xml: &str, shift: usize, byte: usize, problem: impl std::fmt::Display) -> MeterFileError {
    MeterFileError::new(xml_location(xml, byte, shift), format!("malformed XML: {problem}"))
}

/// Reads the whole document into its root element.
fn read_xml(xml: &str, shift: usize) -> Result<Element, MeterFileError> {
    let mut reader = Reader::from_str(xml);
    let mut open: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let before = to_usize(reader.buffer_position());
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(err) => return Err(malformed(xml, shift, to_usize(reader.error_position()), err)),
        };
        let at_before = |problem: String| malformed(xml, shift, before, problem);
        match event {
            Event::Start(start) => open.push(start_element(&start, before).map_err(at_before)?),
            Event::Empty(start) => {
                let element = start_element(&start, before).map_err(at_before)?;
                close(&mut open, &mut root, element).map_err(at_before)?;
            }
            Event::End(_) => match open.pop() {
                Some(element) => close(&mut open, &mut root, element).map_err(at_before)?,
                None => return Err(at_before("an end tag without its start tag".to_string())),
            },
            Event::Text(text) => add_text(&mut open, &text, before).map_err(|(byte, problem)| malformed(xml, shift, byte, problem))?,
            Event::CData(data) => add_text(&mut open, &data, before).map_err(|(byte, problem)| malformed(xml, shift, byte, problem))?,
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match resolve_predefined_entity(&reference) {
                        Some(text) => text.to_string(),
                        None => return Err(at_before(format!("unknown entity &{};", &*reference))),
                    },
                    Err(err) => return Err(at_before(err.to_string())),
                };
                add_text(&mut open, &resolved, before).map_err(|(byte, problem)| malformed(xml, shift, byte, problem))?;
            }
            Event::Eof => break,
            // Declarations, comments, processing instructions, DOCTYPE.
            _ => {}
        }
    }
    if let Some(unclosed) = open.last() {
        return Err(malformed(
            xml,
            shift,
            unclosed.offset,
            format!("<{}> is not closed at the end of the file", unclosed.name),
        ));
    }
    root.ok_or_else(|| malformed(xml, shift, xml.len(), "the file has no root element"))
}

fn start_element(start: &BytesStart<'_>, offset: usize) -> Result<Element, String> {
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|err| err.to_string())?;
        let value = attribute.normalized_value(XmlVersion::Implicit1_0).map_err(|err| err.to_string())?;
        attributes.push((attribute.key.local_name().into_inner().to_string(), value.into_owned()));
    }
    Ok(Element {
        name: start.local_name().into_inner().to_string(),
        attributes,
        children: Vec::new(),
        text: String::new(),
        offset,
    })
}

/// Puts a complete element into its parent, or makes it the root.
fn close(open: &mut [Element], root: &mut Option<Element>, element: Element) -> Result<(), String> {
    if let Some(parent) = open.last_mut() {
        parent.children.push(element);
    } else if root.is_none() {
        *root = Some(element);
    } else {
        return Err(format!("a second root element <{}>", element.name));
    }
    Ok(())
}

/// Adds text to the open element; outside the root only whitespace may be.
fn add_text(open: &mut [Element], text: &str, offset: usize) -> Result<(), (usize, String)> {
    if let Some(parent) = open.last_mut() {
        parent.text.push_str(text);
        return Ok(());
    }
    let ignorable = |c: char| c.is_whitespace() || c == BOM;
    let content = text.trim_start_matches(ignorable);
    if content.is_empty() {
        return Ok(());
    }
    let at = offset + (text.len() - content.len());
    Err((at, "text outside the root element".to_string()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    /// ESPI flowDirection 1, forward: energy delivered to the customer.
    Import,
    /// ESPI flowDirection 19, reverse: energy received from the customer.
    Export,
}

impl Direction {
    fn describe(self) -> &'static str {
        match self {
            Direction::Import => "forward (import)",
            Direction::Export => "reverse (export)",
        }
    }
}

/// An entry's Atom links, whitespace and trailing slashes trimmed.
#[derive(Clone, Debug, Default)]
struct Links {
    self_href: Option<String>,
    up: Option<String>,
    related: Vec<String>,
}

impl Links {
    fn of(entry: &Element) -> Links {
        let mut links = Links::default();
        for link in entry.children("link") {
            let Some(href) = link.attribute("href").map(|href| href.trim().trim_end_matches('/').to_string()) else {
                continue;
            };
            // Atom: a link without `rel` is an "alternate" one.
            match link.attribute("rel").map(str::trim).unwrap_or("alternate") {
                "self" => links.self_href = Some(href),
                "up" => links.up = Some(href),
                "related" => links.related.push(href),
                _ => {}
            }
        }
        links
    }
}

#[derive(Debug)]
struct ReadingType {
    href: Option<String>,
    direction: Direction,
    multiplier: i32,
}

impl ReadingType {
    fn read(element: &Element, entry: usize, href: Option<String>) -> Result<ReadingType, MeterFileError> {
        let fail = |problem: String| MeterFileError::new(format!("ReadingType (entry {entry})"), problem);
        let direction = match integer::<i64>(element, "flowDirection").map_err(fail)? {
            Some(1) => Direction::Import,
            Some(19) => Direction::Export,
            Some(other) => {
                return Err(fail(format!(
                    "flowDirection {other} is neither 1 (forward: energy delivered to the customer) nor 19 (reverse: energy received from the customer)"
                )));
            }
            None => return Err(fail("has no flowDirection: 1 (forward) or 19 (reverse) is required".to_string())),
        };
        match integer::<i64>(element, "uom").map_err(fail)? {
            Some(72) => {}
            Some(other) => return Err(fail(format!("uom {other} is not 72 (Wh), the only unit accepted"))),
            None => return Err(fail("has no uom: 72 (Wh) is required".to_string())),
        }
        let multiplier = integer::<i32>(element, "powerOfTenMultiplier").map_err(fail)?.unwrap_or(0);
        if !(-18..=18).contains(&multiplier) {
            return Err(fail(format!("powerOfTenMultiplier {multiplier} is out of range")));
        }
        Ok(ReadingType { href, direction, multiplier })
    }
}

/// A child element's integer text, `None` when there is no such child.
fn integer<T: FromStr>(parent: &Element, field: &str) -> Result<Option<T>, String> {
    let Some(element) = parent.child(field) else {
        return Ok(None);
    };
    let text = element.text.trim();
    text.parse().map(Some).map_err(|_| format!("{field} {text:?} is not an integer"))
}

struct Block<'x> {
    entry: usize,
    links: Links,
    element: &'x Element,
}

/// Whether `href` is `base` or a path under it (`.../MeterReading/1/IntervalBlock`
/// is under `.../MeterReading/1`, `.../MeterReading/10` is not).
fn is_within(href: &str, base: &str) -> bool {
    href.strip_prefix(base).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The ReadingType of a block: through the MeterReading its links lie under
/// (the closest one), else the file's only ReadingType.
fn reading_type_of<'t>(block: &Block<'_>, meter_readings: &[Links], reading_types: &'t [ReadingType]) -> Option<&'t ReadingType> {
    let meter_reading = [block.links.up.as_deref(), block.links.self_href.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|href| {
            meter_readings
                .iter()
                .filter(|links| links.self_href.as_deref().is_some_and(|base| is_within(href, base)))
                .max_by_key(|links| links.self_href.as_ref().map_or(0, String::len))
        });
    let linked = meter_reading.and_then(|meter_reading| {
        reading_types
            .iter()
            .find(|reading_type| reading_type.href.as_ref().is_some_and(|href| meter_reading.related.contains(href)))
    });
    linked.or(match reading_types {
        [only] => Some(only),
        _ => None,
    })
}

/// One IntervalReading's start and energy.
fn interval_reading(reading: &Element, multiplier: i32, rules: &DeliveryRules) -> Result<(DateTime<Utc>, WattHours), String> {
    let period = reading.child("timePeriod").ok_or_else(|| "has no timePeriod".to_string())?;
    let duration = integer::<i64>(period, "duration")?.ok_or_else(|| "timePeriod has no duration".to_string())?;
    if duration != i64::from(rules.interval_minutes) * 60 {
        return Err(format!(
            "duration {duration} s is not the market's {}-minute interval",
            rules.interval_minutes
        ));
    }
    let seconds = integer::<i64>(period, "start")?.ok_or_else(|| "timePeriod has no start".to_string())?;
    let start = DateTime::from_timestamp(seconds, 0).ok_or_else(|| format!("start {seconds} is out of range"))?;
    rules
        .check_aligned(start)
        .map_err(|_| format!("start {seconds} ({}) {}", rfc3339(start), not_an_interval_start(rules)))?;
    let value = integer::<i64>(reading, "value")?.ok_or_else(|| "has no value".to_string())?;
    Ok((start, watt_hours(value, multiplier)?))
}

/// `value × 10^multiplier` Wh, when it is a whole number of 0 to 10,000 kWh.
fn watt_hours(value: i64, multiplier: i32) -> Result<WattHours, String> {
    let stated = if multiplier == 0 {
        format!("value {value} Wh")
    } else {
        format!("value {value} × 10^{multiplier} Wh")
    };
    if value < 0 {
        return Err(format!("{stated} is negative"));
    }
    // |multiplier| <= 18: 10^18 × i64::MAX fits in an i128.
    let scale = 10i128.pow(multiplier.unsigned_abs());
    let value = i128::from(value);
    let wh = if multiplier >= 0 {
        value * scale
    } else if value % scale == 0 {
        value / scale
    } else {
        return Err(format!("{stated} is not a whole number of Wh"));
    };
    u64::try_from(wh)
        .ok()
        .filter(|&wh| wh <= WattHours::MAX_READING.wh())
        .map(WattHours::from_wh)
        .ok_or_else(|| format!("{stated} is more than 10,000 kWh"))
}

/// One interval's readings, with where each was found.
#[derive(Default)]
struct Slot {
    import: Option<(WattHours, String)>,
    export: Option<(WattHours, String)>,
}

/// A Green Button (ESPI) XML file (see the module's documentation).
pub fn parse_green_button(xml: &str, rules: &DeliveryRules) -> Result<Vec<MeterRow>, MeterFileError> {
    let (xml, shift) = match xml.strip_prefix(BOM) {
        Some(rest) => (rest, BOM.len_utf8()),
        None => (xml, 0),
    };
    let root = read_xml(xml, shift)?;
    let entries: Vec<&Element> = match root.name.as_str() {
        "feed" => root.children("entry").collect(),
        "entry" => vec![&root],
        other => {
            return Err(MeterFileError::new(
                xml_location(xml, root.offset, shift),
                format!("<{other}> is not a Green Button (ESPI) Atom feed: expected <feed>"),
            ));
        }
    };

    let mut reading_types = Vec::new();
    let mut meter_readings = Vec::new();
    let mut blocks = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let number = index + 1;
        let Some(content) = entry.child("content") else {
            continue;
        };
        let links = Links::of(entry);
        for resource in &content.children {
            match resource.name.as_str() {
                "ReadingType" => reading_types.push(ReadingType::read(resource, number, links.self_href.clone())?),
                "MeterReading" => meter_readings.push(links.clone()),
                "IntervalBlock" => blocks.push(Block {
                    entry: number,
                    links: links.clone(),
                    element: resource,
                }),
                _ => {}
            }
        }
    }

    let mut slots: BTreeMap<DateTime<Utc>, Slot> = BTreeMap::new();
    // (entry, its IntervalReadings so far): readings are numbered per entry.
    let mut numbering: (usize, usize) = (0, 0);
    for block in &blocks {
        let reading_type = reading_type_of(block, &meter_readings, &reading_types).ok_or_else(|| {
            let problem = if reading_types.is_empty() {
                "the file has no ReadingType to say what its values measure".to_string()
            } else {
                format!("no MeterReading links it to one of the file's {} ReadingTypes", reading_types.len())
            };
            MeterFileError::new(format!("IntervalBlock (entry {})", block.entry), problem)
        })?;
        if numbering.0 != block.entry {
            numbering = (block.entry, 0);
        }
        for reading in block.element.children("IntervalReading") {
            numbering.1 += 1;
            let location = format!("IntervalReading {} (entry {})", numbering.1, block.entry);
            let (start, energy) =
                interval_reading(reading, reading_type.multiplier, rules).map_err(|problem| MeterFileError::new(&location, problem))?;
            let slot = slots.entry(start).or_default();
            let side = match reading_type.direction {
                Direction::Import => &mut slot.import,
                Direction::Export => &mut slot.export,
            };
            if let Some((_, first)) = side {
                return Err(MeterFileError::new(
                    location,
                    format!(
                        "another {} reading for {}: the first is {first}",
                        reading_type.direction.describe(),
                        rfc3339(start)
                    ),
                ));
            }
            *side = Some((energy, location));
        }
    }

    let has = |direction: Direction| reading_types.iter().any(|reading_type| reading_type.direction == direction);
    let (has_import, has_export) = (has(Direction::Import), has(Direction::Export));
    let mut rows = Vec::with_capacity(slots.len());
    for (start, slot) in slots {
        let missing = |location: String, have: Direction, lack: Direction| {
            MeterFileError::new(
                location,
                format!(
                    "{} has a {} reading but no {} reading, though the file has a ReadingType for each",
                    rfc3339(start),
                    have.describe(),
                    lack.describe()
                ),
            )
        };
        let (import, export) = match (slot.import, slot.export) {
            (Some((import, _)), Some((export, _))) => (import, export),
            (Some((import, _)), None) if !has_export => (import, WattHours::ZERO),
            (None, Some((export, _))) if !has_import => (WattHours::ZERO, export),
            (Some((_, location)), None) => return Err(missing(location, Direction::Import, Direction::Export)),
            (None, Some((_, location))) => return Err(missing(location, Direction::Export, Direction::Import)),
            (None, None) => continue,
        };
        rows.push(MeterRow {
            household: None,
            interval_start: start,
            import,
            export,
        });
    }
    if rows.is_empty() {
        return Err(MeterFileError::no_readings());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const GREEN_BUTTON: &str = include_str!("../../../tests/fixtures/meter/green-button.xml");
    const HOURLY: &str = include_str!("../../../tests/fixtures/meter/hourly.xml");
    const READINGS_CSV: &str = include_str!("../../../tests/fixtures/meter/readings.csv");
    const BAD_LINE_CSV: &str = include_str!("../../../tests/fixtures/meter/bad-line.csv");

    fn rules() -> DeliveryRules {
        DeliveryRules::default()
    }

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, hour, minute, 0).unwrap()
    }

    fn row(household: Option<&str>, start: DateTime<Utc>, import_wh: u64, export_wh: u64) -> MeterRow {
        MeterRow {
            household: household.map(str::to_string),
            interval_start: start,
            import: WattHours::from_wh(import_wh),
            export: WattHours::from_wh(export_wh),
        }
    }

    fn csv_error(text: &str) -> String {
        match parse_csv(text, &rules()) {
            Ok(rows) => panic!("{text:?} parsed: {rows:?}"),
            Err(err) => err.to_string(),
        }
    }

    fn green_button_error(xml: &str) -> MeterFileError {
        match parse_green_button(xml, &rules()) {
            Ok(rows) => panic!("parsed: {rows:?}"),
            Err(err) => err,
        }
    }

    /// `text` with its first `from` replaced, which must be there.
    fn edited(text: &str, from: &str, to: &str) -> String {
        assert!(text.contains(from), "{from:?} not in the text");
        text.replacen(from, to, 1)
    }

    #[test]
    fn a_csv_with_households() {
        let text = concat!(
            "household,interval_start,import_kwh,export_kwh\n",
            "Alice, 2026-06-01T12:00:00Z ,0,8\n",
            "\n",
            "   \n",
            "\"Bob, Jr.\",2026-06-01T14:15:00+02:00,2.5,0.125\n",
            " Carol ,2026-06-01T12:00:00Z, 10000 ,0.000\n",
            "\n",
        );
        assert_eq!(
            parse_csv(text, &rules()),
            Ok(vec![
                row(Some("Alice"), at(12, 0), 0, 8000),
                row(Some("Bob, Jr."), at(12, 15), 2500, 125),
                row(Some("Carol"), at(12, 0), 10_000_000, 0),
            ])
        );
    }

    #[test]
    fn a_csv_without_households_with_crlf_a_bom_and_any_case_header() {
        let text = "\u{feff}Interval_Start,IMPORT_KWH,export_kWh\r\n2026-06-01T12:00:00Z,1.5,0\r\n\r\n2026-06-01T12:15:00Z,0,0.75\r\n";
        assert_eq!(
            parse_csv(text, &rules()),
            Ok(vec![row(None, at(12, 0), 1500, 0), row(None, at(12, 15), 0, 750)])
        );
        // The same file, told apart by content.
        assert_eq!(parse(text, &rules()), parse_csv(text, &rules()));
    }

    #[test]
    fn csv_errors_name_their_line() {
        const H: &str = "household,interval_start,import_kwh,export_kwh\n";
        const ALICE: &str = "Alice,2026-06-01T12:00:00Z,0,1\n";
        let header_error = |line: usize, found: &str| {
            format!(
                "line {line}: expected the header household,interval_start,import_kwh,export_kwh \
                 (or interval_start,import_kwh,export_kwh without households), found {found:?}"
            )
        };
        let cases: Vec<(String, String)> = vec![
            (ALICE.to_string(), header_error(1, "Alice,2026-06-01T12:00:00Z,0,1")),
            (
                "\n  \nhousehold,start,import,export\n".to_string(),
                header_error(3, "household,start,import,export"),
            ),
            (
                "household,interval_start,import_kwh,export_kwh,note\n".to_string(),
                header_error(1, "household,interval_start,import_kwh,export_kwh,note"),
            ),
            (
                format!("{H}Alice,2026-06-01T12:00:00Z,0\n"),
                "line 2: expected 4 fields (household,interval_start,import_kwh,export_kwh), found 3".to_string(),
            ),
            (
                "interval_start,import_kwh,export_kwh\n2026-06-01T12:00:00Z,0,1\nAlice,2026-06-01T12:15:00Z,0,1\n".to_string(),
                "line 3: expected 3 fields (interval_start,import_kwh,export_kwh), found 4".to_string(),
            ),
            (
                format!("{H}{ALICE}Bob,2026-06-01T12:00:00Z,2,0\nCarol,2026-06-01T12:00:00Z,1,-1\n"),
                "line 4: export_kwh \"-1\" is not 0 to 10,000 kWh with at most 3 decimals".to_string(),
            ),
            (
                format!("{H}Alice,2026-06-01T12:00:00Z,0.0001,0\n"),
                "line 2: import_kwh \"0.0001\" is not 0 to 10,000 kWh with at most 3 decimals".to_string(),
            ),
            (
                format!("{H}Alice,2026-06-01T12:00:00Z,10000.001,0\n"),
                "line 2: import_kwh \"10000.001\" is not 0 to 10,000 kWh with at most 3 decimals".to_string(),
            ),
            (
                format!("{H}Alice,2026-06-01T12:00:00Z,,0\n"),
                "line 2: import_kwh \"\" is not 0 to 10,000 kWh with at most 3 decimals".to_string(),
            ),
            (
                format!("{H}Alice,2026-06-01T12:00:00Z,1e3,0\n"),
                "line 2: import_kwh \"1e3\" is not 0 to 10,000 kWh with at most 3 decimals".to_string(),
            ),
            (
                format!("{H}Alice,noon,0,1\n"),
                "line 2: interval_start \"noon\" is not an RFC 3339 time such as 2026-06-01T12:00:00Z".to_string(),
            ),
            (
                format!("{H}Alice,2026-06-01T12:07:00Z,0,1\n"),
                "line 2: interval_start \"2026-06-01T12:07:00Z\" is not the start of one of the market's 15-minute intervals".to_string(),
            ),
            (format!("{H} ,2026-06-01T12:00:00Z,0,1\n"), "line 2: household is empty".to_string()),
            (
                // The same interval written with an offset.
                format!("{H}{ALICE}Bob,2026-06-01T12:00:00Z,0,1\n\nAlice,2026-06-01T14:00:00+02:00,0,2\n"),
                "line 5: a second reading for household \"Alice\" at 2026-06-01T12:00:00Z (the first is on line 2)".to_string(),
            ),
            (
                "interval_start,import_kwh,export_kwh\n2026-06-01T12:00:00Z,0,1\n2026-06-01T12:00:00Z,0,1\n".to_string(),
                "line 3: a second reading at 2026-06-01T12:00:00Z (the first is on line 2)".to_string(),
            ),
            (
                "interval_start,import_kwh,export_kwh\r\n\r\n2026-06-01T12:00:00Z,0,1\r\n\r\n2026-06-01T12:15:00Z,x,1\r\n".to_string(),
                "line 5: import_kwh \"x\" is not 0 to 10,000 kWh with at most 3 decimals".to_string(),
            ),
            (
                // A quoted field over two lines: the next record is on line 4.
                format!("{H}\"Al\nice\",2026-06-01T12:00:00Z,0,1\nBob,2026-06-01T12:00:00Z,0,-2\n"),
                "line 4: export_kwh \"-2\" is not 0 to 10,000 kWh with at most 3 decimals".to_string(),
            ),
            (String::new(), "end of file: the file holds no readings".to_string()),
            ("\n \n\n".to_string(), "end of file: the file holds no readings".to_string()),
            (H.to_string(), "end of file: the file holds no readings".to_string()),
        ];
        for (text, expected) in cases {
            assert_eq!(csv_error(&text), expected, "{text:?}");
        }
    }

    #[test]
    fn the_csv_fixtures() {
        assert_eq!(
            parse(READINGS_CSV, &rules()),
            Ok(vec![
                row(Some("Alice"), at(12, 0), 0, 8000),
                row(Some("Bob"), at(12, 0), 2500, 0),
                row(Some("Charlie"), at(12, 0), 20_000, 0),
                row(Some("Alice"), at(12, 15), 125, 6500),
                row(Some("Bob"), at(12, 15), 1750, 0),
                row(Some("Charlie"), at(12, 15), 12_000, 500),
            ])
        );
        let err = parse(BAD_LINE_CSV, &rules()).unwrap_err();
        assert_eq!(err.location, "line 3");
        assert_eq!(
            err.to_string(),
            "line 3: export_kwh \"-1\" is not 0 to 10,000 kWh with at most 3 decimals"
        );
    }

    #[test]
    fn the_green_button_sample_combines_import_and_export() {
        let expected = vec![
            row(None, at(12, 0), 120, 310),
            row(None, at(12, 15), 85, 455),
            row(None, at(12, 30), 0, 620),
            row(None, at(12, 45), 40, 280),
        ];
        assert_eq!(parse_green_button(GREEN_BUTTON, &rules()), Ok(expected.clone()));
        assert_eq!(parse(GREEN_BUTTON, &rules()), Ok(expected.clone()));
        // A byte order mark and leading whitespace change nothing.
        assert_eq!(parse(&format!("\u{feff}{GREEN_BUTTON}"), &rules()), Ok(expected.clone()));
        assert_eq!(parse(&format!("\n  {GREEN_BUTTON}"), &rules()), Ok(expected));
    }

    #[test]
    fn green_button_errors_in_reading_types() {
        let err = green_button_error(&edited(GREEN_BUTTON, "<uom>72</uom>", "<uom>38</uom>"));
        assert_eq!(err.to_string(), "ReadingType (entry 4): uom 38 is not 72 (Wh), the only unit accepted");

        let err = green_button_error(&edited(
            GREEN_BUTTON,
            "<flowDirection>19</flowDirection>",
            "<flowDirection>4</flowDirection>",
        ));
        assert_eq!(
            err.to_string(),
            "ReadingType (entry 8): flowDirection 4 is neither 1 (forward: energy delivered to the customer) \
             nor 19 (reverse: energy received from the customer)"
        );

        let err = green_button_error(&edited(GREEN_BUTTON, "<flowDirection>1</flowDirection>", ""));
        assert_eq!(
            err.to_string(),
            "ReadingType (entry 4): has no flowDirection: 1 (forward) or 19 (reverse) is required"
        );

        let err = green_button_error(&edited(
            GREEN_BUTTON,
            "<powerOfTenMultiplier>-3</powerOfTenMultiplier>",
            "<powerOfTenMultiplier>milli</powerOfTenMultiplier>",
        ));
        assert_eq!(err.to_string(), "ReadingType (entry 4): powerOfTenMultiplier \"milli\" is not an integer");

        let err = green_button_error(&edited(
            GREEN_BUTTON,
            "<powerOfTenMultiplier>-3</powerOfTenMultiplier>",
            "<powerOfTenMultiplier>-30</powerOfTenMultiplier>",
        ));
        assert_eq!(err.to_string(), "ReadingType (entry 4): powerOfTenMultiplier -30 is out of range");
    }

    #[test]
    fn green_button_errors_in_interval_readings() {
        let err = green_button_error(&edited(GREEN_BUTTON, "<duration>900</duration>", "<duration>3600</duration>"));
        assert_eq!(err.location, "IntervalReading 1 (entry 5)");
        assert_eq!(err.problem, "duration 3600 s is not the market's 15-minute interval");
        assert_eq!(
            green_button_error(HOURLY).to_string(),
            "IntervalReading 1 (entry 2): duration 3600 s is not the market's 15-minute interval"
        );

        let err = green_button_error(&edited(GREEN_BUTTON, "<start>1780316100</start>", "<start>1780316160</start>"));
        assert_eq!(
            err.to_string(),
            "IntervalReading 2 (entry 5): start 1780316160 (2026-06-01T12:16:00Z) is not the start of one of the market's 15-minute intervals"
        );

        // 120.001 Wh.
        let err = green_button_error(&edited(GREEN_BUTTON, "<value>120000</value>", "<value>120001</value>"));
        assert_eq!(
            err.to_string(),
            "IntervalReading 1 (entry 5): value 120001 × 10^-3 Wh is not a whole number of Wh"
        );

        let err = green_button_error(&edited(GREEN_BUTTON, "<value>85000</value>", "<value>-85000</value>"));
        assert_eq!(err.to_string(), "IntervalReading 2 (entry 5): value -85000 × 10^-3 Wh is negative");

        let err = green_button_error(&edited(GREEN_BUTTON, "<value>310</value>", "<value>10000001</value>"));
        assert_eq!(err.to_string(), "IntervalReading 1 (entry 7): value 10000001 Wh is more than 10,000 kWh");
        let most = parse_green_button(&edited(GREEN_BUTTON, "<value>310</value>", "<value>10000000</value>"), &rules()).unwrap();
        assert_eq!(most[0], row(None, at(12, 0), 120, 10_000_000));

        let err = green_button_error(&edited(GREEN_BUTTON, "<value>455</value>", "<value>4.5</value>"));
        assert_eq!(err.to_string(), "IntervalReading 2 (entry 7): value \"4.5\" is not an integer");

        let err = green_button_error(&edited(GREEN_BUTTON, "<value>620</value>", ""));
        assert_eq!(err.to_string(), "IntervalReading 3 (entry 7): has no value");

        // Two forward readings for 12:00.
        let err = green_button_error(&edited(GREEN_BUTTON, "<start>1780316100</start>", "<start>1780315200</start>"));
        assert_eq!(
            err.to_string(),
            "IntervalReading 2 (entry 5): another forward (import) reading for 2026-06-01T12:00:00Z: the first is IntervalReading 1 (entry 5)"
        );
    }

    #[test]
    fn with_both_directions_every_interval_needs_both() {
        // Without the reverse block's last reading, 12:45 has only an import.
        let last = GREEN_BUTTON.rfind("<IntervalReading>").unwrap();
        let end = last + GREEN_BUTTON[last..].find("</IntervalReading>").unwrap() + "</IntervalReading>".len();
        let xml = format!("{}{}", &GREEN_BUTTON[..last], &GREEN_BUTTON[end..]);
        assert_eq!(
            green_button_error(&xml).to_string(),
            "IntervalReading 4 (entry 5): 2026-06-01T12:45:00Z has a forward (import) reading but no reverse (export) reading, \
             though the file has a ReadingType for each"
        );
    }

    #[test]
    fn blocks_need_links_to_tell_two_reading_types_apart() {
        let xml = GREEN_BUTTON.replace("rel=\"related\"", "rel=\"via\"");
        assert_eq!(
            green_button_error(&xml).to_string(),
            "IntervalBlock (entry 5): no MeterReading links it to one of the file's 2 ReadingTypes"
        );
    }

    #[test]
    fn malformed_xml_is_an_error_at_its_line_and_byte() {
        let xml = edited(GREEN_BUTTON, "</IntervalBlock>", "</IntervalBlok>");
        let err = green_button_error(&xml);
        assert_eq!(err.location, format!("line 126 (byte {})", xml.find("</IntervalBlok>").unwrap()));
        assert_eq!(
            err.problem,
            "malformed XML: ill-formed document: expected `</IntervalBlock>`, but `</IntervalBlok>` was found"
        );

        let cut = &GREEN_BUTTON[..GREEN_BUTTON.find("</feed>").unwrap()];
        let err = green_button_error(cut);
        assert_eq!(err.location, format!("line 7 (byte {})", GREEN_BUTTON.find("<feed ").unwrap()));
        assert_eq!(err.problem, "malformed XML: <feed> is not closed at the end of the file");

        let xml = format!("{GREEN_BUTTON}\noops");
        let err = green_button_error(&xml);
        assert_eq!(err.location, format!("line 212 (byte {})", xml.find("oops").unwrap()));
        assert_eq!(err.problem, "malformed XML: text outside the root element");

        let xml = format!("{GREEN_BUTTON}<feed/>");
        assert_eq!(green_button_error(&xml).problem, "malformed XML: a second root element <feed>");

        let err = green_button_error("<feed><entry><title>&kwh;</title></entry></feed>");
        assert_eq!(err.to_string(), "line 1 (byte 20): malformed XML: unknown entity &kwh;");

        let err = green_button_error("<feed><entry></feed>");
        assert!(err.location.starts_with("line 1 (byte "), "{err}");
        assert!(err.problem.starts_with("malformed XML: "), "{err}");

        let err = green_button_error("<feed><entry><link href=\"x\" href=\"y\"/></entry></feed>");
        assert_eq!(err.location, "line 1 (byte 13)");
        assert!(err.problem.starts_with("malformed XML: "), "{err}");

        assert_eq!(
            green_button_error("<html><body/></html>").to_string(),
            "line 1 (byte 0): <html> is not a Green Button (ESPI) Atom feed: expected <feed>"
        );
        assert_eq!(
            green_button_error("<!-- nothing -->").problem,
            "malformed XML: the file has no root element"
        );
    }

    /// A feed of the given entries, in prefixed namespaces.
    fn prefixed_feed(entries: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?>\n<atom:feed xmlns:atom=\"http://www.w3.org/2005/Atom\" xmlns:espi=\"http://naesb.org/espi\">{entries}</atom:feed>"
        )
    }

    fn reading_type_entry(flow_direction: u32, multiplier: i32) -> String {
        format!(
            "<atom:entry><atom:content><espi:ReadingType><espi:flowDirection>{flow_direction}</espi:flowDirection>\
             <espi:powerOfTenMultiplier>{multiplier}</espi:powerOfTenMultiplier><espi:uom>72</espi:uom>\
             </espi:ReadingType></atom:content></atom:entry>"
        )
    }

    fn block_entry(readings: &[(i64, &str)]) -> String {
        let readings: String = readings
            .iter()
            .map(|(start, value)| {
                format!(
                    "<espi:IntervalReading><espi:timePeriod><espi:duration>900</espi:duration>\
                     <espi:start>{start}</espi:start></espi:timePeriod><espi:value>{value}</espi:value></espi:IntervalReading>"
                )
            })
            .collect();
        format!("<atom:entry><atom:content><espi:IntervalBlock>{readings}</espi:IntervalBlock></atom:content></atom:entry>")
    }

    #[test]
    fn one_direction_only_counts_the_other_as_zero() {
        // Prefixed elements, no links (the only ReadingType applies), values
        // by character reference and CDATA, readings out of order.
        let xml = prefixed_feed(&format!(
            "{}{}",
            reading_type_entry(1, 0),
            block_entry(&[(1_780_316_100, "&#50;&#x35;0"), (1_780_315_200, "<![CDATA[ 1200 ]]>")])
        ));
        assert_eq!(
            parse(&xml, &rules()),
            Ok(vec![row(None, at(12, 0), 1200, 0), row(None, at(12, 15), 250, 0)])
        );

        // Export only, in kWh.
        let xml = prefixed_feed(&format!("{}{}", block_entry(&[(1_780_315_200, "3")]), reading_type_entry(19, 3)));
        assert_eq!(parse(&xml, &rules()), Ok(vec![row(None, at(12, 0), 0, 3000)]));
    }

    #[test]
    fn a_feed_without_reading_types_or_readings() {
        let xml = prefixed_feed(&block_entry(&[(1_780_315_200, "1")]));
        assert_eq!(
            green_button_error(&xml).to_string(),
            "IntervalBlock (entry 1): the file has no ReadingType to say what its values measure"
        );
        let xml = prefixed_feed(&reading_type_entry(1, 0));
        assert_eq!(green_button_error(&xml).to_string(), "end of file: the file holds no readings");
        let xml = prefixed_feed(&format!("{}{}", reading_type_entry(1, 0), block_entry(&[])));
        assert_eq!(green_button_error(&xml).to_string(), "end of file: the file holds no readings");
    }

    #[test]
    fn links_resolve_by_href_with_entities_and_path_boundaries() {
        let base = "https://utility.example/espi/Subscription/5?a=1&amp;b=2/UsagePoint/1";
        let meter_reading = |n: u32, reading_type: u32| {
            format!(
                "<entry><link rel=\"self\" href=\"{base}/MeterReading/{n}\"/>\
                 <link rel=\"related\" href=\"https://utility.example/espi/ReadingType/{reading_type}/\"/>\
                 <content><MeterReading xmlns=\"http://naesb.org/espi\"/></content></entry>"
            )
        };
        let reading_type = |n: u32, flow_direction: u32| {
            format!(
                "<entry><link href=\"https://utility.example/espi/ReadingType/{n}\" rel=\"self\"/>\
                 <content><ReadingType xmlns=\"http://naesb.org/espi\"><flowDirection>{flow_direction}</flowDirection>\
                 <uom>72</uom></ReadingType></content></entry>"
            )
        };
        let block = |n: u32, value: u32| {
            format!(
                "<entry><link rel=\"up\" href=\"{base}/MeterReading/{n}/IntervalBlock\"/>\
                 <content><IntervalBlock xmlns=\"http://naesb.org/espi\"><IntervalReading><timePeriod>\
                 <duration>900</duration><start>1780315200</start></timePeriod><value>{value}</value>\
                 </IntervalReading></IntervalBlock></content></entry>"
            )
        };
        // MeterReading/1 is an export, MeterReading/10 an import: a block
        // under .../MeterReading/10 is not under .../MeterReading/1.
        let xml = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\">{}{}{}{}{}{}</feed>",
            meter_reading(1, 2),
            meter_reading(10, 1),
            reading_type(1, 1),
            reading_type(2, 19),
            block(10, 700),
            block(1, 50),
        );
        assert_eq!(parse(&xml, &rules()), Ok(vec![row(None, at(12, 0), 700, 50)]));

        assert!(is_within("a/MeterReading/1/IntervalBlock", "a/MeterReading/1"));
        assert!(is_within("a/MeterReading/1", "a/MeterReading/1"));
        assert!(!is_within("a/MeterReading/10/IntervalBlock", "a/MeterReading/1"));
        assert!(!is_within("a/MeterReading", "a/MeterReading/1"));
    }

    #[test]
    fn rules_with_longer_intervals() {
        let half_hours = DeliveryRules {
            interval_minutes: 30,
            ..rules()
        };
        let text = "interval_start,import_kwh,export_kwh\n2026-06-01T12:30:00Z,1,0\n2026-06-01T12:15:00Z,1,0\n";
        assert_eq!(
            parse(text, &half_hours).unwrap_err().to_string(),
            "line 3: interval_start \"2026-06-01T12:15:00Z\" is not the start of one of the market's 30-minute intervals"
        );
        assert_eq!(
            parse(GREEN_BUTTON, &half_hours).unwrap_err().to_string(),
            "IntervalReading 1 (entry 5): duration 900 s is not the market's 30-minute interval"
        );
    }
}
