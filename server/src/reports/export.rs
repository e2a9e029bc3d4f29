//! Report tables as CSV and XLSX downloads. Both carry, above the table, the report's title,
//! the units it covers (code and name), the period and the time it was generated (Vietnam
//! time); headers are Vietnamese.
//!
//! CSV is UTF-8 with a byte-order mark (so Excel shows Vietnamese correctly), RFC 4180
//! quoting, and text cells that begin with `=`, `+`, `-`, `@` prefixed with `'` (a report
//! opened in a spreadsheet never runs a formula from the data).

use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde::Serialize;

/// A cell of a report table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A count.
    Int(i64),
    /// A measure (median days, a share in percent), rounded to one decimal when shown.
    Num(f64),
    /// No value (e.g. no median without decisions).
    Empty,
}

impl Cell {
    /// The cell as CSV/HTML text.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Num(x) => format!("{x:.1}"),
            Cell::Empty => String::new(),
        }
    }

    /// Whether the cell is a number (right-aligned on the page).
    pub fn is_number(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Num(_))
    }
}

/// A report as a table with its heading lines.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// The report's title (Vietnamese).
    pub title: String,
    /// `07132 Phường Quảng Yên`, one per unit covered.
    pub units: Vec<String>,
    /// The period in Vietnamese (`Tháng 11/2026`) and its days.
    pub period: String,
    /// When it was generated, Vietnam time (`2026-12-01 09:30`).
    pub generated: String,
    /// Column headers (Vietnamese).
    pub headers: Vec<String>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
    /// Notes printed under the table (what a figure means, what the model lacks).
    pub notes: Vec<String>,
}

impl Table {
    /// The heading lines: (label, value).
    pub fn heading(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Đơn vị", self.units.join("; ")),
            ("Kỳ báo cáo", self.period.clone()),
            ("Thời điểm lập (giờ Việt Nam)", self.generated.clone()),
        ]
    }
}

fn csv_field(s: &str, text: bool) -> String {
    let s = if text && s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The table as CSV (UTF-8 with BOM, CRLF line ends).
pub fn csv(t: &Table) -> Vec<u8> {
    csv_many(std::slice::from_ref(t))
}

/// Several tables (the sections of one report) in one CSV, one after the other with a blank
/// line between them, each with its title, heading lines, headers, rows and notes.
pub fn csv_many(tables: &[Table]) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    for (i, t) in tables.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        csv_section(&mut out, t);
    }
    out.into_bytes()
}

fn csv_section(out: &mut String, t: &Table) {
    let line = |out: &mut String, cells: Vec<String>| {
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    };
    line(out, vec![csv_field(&t.title, true)]);
    for (k, v) in t.heading() {
        line(out, vec![csv_field(k, true), csv_field(&v, true)]);
    }
    line(out, Vec::new());
    line(out, t.headers.iter().map(|h| csv_field(h, true)).collect());
    for r in &t.rows {
        line(
            out,
            r.iter()
                .map(|c| csv_field(&c.text(), matches!(c, Cell::Text(_))))
                .collect(),
        );
    }
    if !t.notes.is_empty() {
        line(out, Vec::new());
        for n in &t.notes {
            line(out, vec![csv_field(n, true)]);
        }
    }
}

/// Excel's limit on the characters of one cell.
const XLSX_CELL_CHARS: usize = 32_767;

/// `s`, cut to what one XLSX cell holds (with a closing "…" when cut) instead of failing the
/// whole download.
fn fit_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().count() <= XLSX_CELL_CHARS {
        return s.into();
    }
    let mut cut: String = s.chars().take(XLSX_CELL_CHARS - 1).collect();
    cut.push('…');
    cut.into()
}

/// The row (0-based) where the header row of the XLSX sheet is: after the title, the heading
/// lines and one blank row.
pub const XLSX_HEADER_ROW: u32 = 5;

/// The table as an XLSX workbook with one sheet named `sheet` (at most 31 characters).
pub fn xlsx(t: &Table, sheet: &str) -> Result<Vec<u8>, XlsxError> {
    xlsx_many(&[(t, sheet)])
}

/// Several tables as one workbook, one sheet each (names at most 31 characters).
pub fn xlsx_many(sheets: &[(&Table, &str)]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    for (t, name) in sheets {
        xlsx_sheet(wb.add_worksheet(), t, name)?;
    }
    wb.save_to_buffer()
}

fn xlsx_sheet(
    ws: &mut rust_xlsxwriter::Worksheet,
    t: &Table,
    sheet: &str,
) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    let one_decimal = Format::new().set_num_format("0.0");
    ws.set_name(sheet)?;
    ws.write_string_with_format(0, 0, &t.title, &bold)?;
    for (i, (k, v)) in t.heading().into_iter().enumerate() {
        let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
        ws.write_string_with_format(row, 0, k, &bold)?;
        ws.write_string(row, 1, fit_cell(&v))?;
    }
    for (c, h) in t.headers.iter().enumerate() {
        let col = u16::try_from(c).unwrap_or(u16::MAX);
        ws.write_string_with_format(XLSX_HEADER_ROW, col, h, &bold)?;
        ws.set_column_width(col, (h.chars().count() as f64 + 2.0).clamp(10.0, 40.0))?;
    }
    for (r, cells) in t.rows.iter().enumerate() {
        let row = XLSX_HEADER_ROW + 1 + u32::try_from(r).unwrap_or(u32::MAX - 10);
        for (c, cell) in cells.iter().enumerate() {
            let col = u16::try_from(c).unwrap_or(u16::MAX);
            match cell {
                Cell::Text(s) => {
                    ws.write_string(row, col, fit_cell(s))?;
                }
                Cell::Int(i) => {
                    ws.write_number(row, col, *i as f64)?;
                }
                Cell::Num(x) => {
                    ws.write_number_with_format(row, col, *x, &one_decimal)?;
                }
                Cell::Empty => {}
            }
        }
    }
    let after = XLSX_HEADER_ROW + 2 + u32::try_from(t.rows.len()).unwrap_or(0);
    for (i, n) in t.notes.iter().enumerate() {
        ws.write_string(after + u32::try_from(i).unwrap_or(0), 0, n)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx};

    fn table() -> Table {
        Table {
            title: "Báo cáo tiến độ".into(),
            units: vec!["07132 Phường Quảng Yên".into()],
            period: "Tháng 11/2026".into(),
            generated: "2026-12-01 09:30".into(),
            headers: vec![
                "Đơn vị".into(),
                "Tiếp nhận".into(),
                "Số ngày (trung vị)".into(),
            ],
            rows: vec![
                vec![
                    Cell::Text("=1+1, \"x\"".into()),
                    Cell::Int(12),
                    Cell::Num(3.5),
                ],
                vec![
                    Cell::Text("Phường Hà An".into()),
                    Cell::Int(-1),
                    Cell::Empty,
                ],
            ],
            notes: vec!["Ghi chú".into()],
        }
    }

    #[test]
    fn csv_has_the_heading_quotes_and_defuses_formulas() {
        let text = String::from_utf8(csv(&table())).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "\u{feff}Báo cáo tiến độ");
        assert_eq!(lines[1], "Đơn vị,07132 Phường Quảng Yên");
        assert_eq!(lines[2], "Kỳ báo cáo,Tháng 11/2026");
        assert_eq!(lines[5], "Đơn vị,Tiếp nhận,Số ngày (trung vị)");
        assert_eq!(lines[6], "\"'=1+1, \"\"x\"\"\",12,3.5");
        assert_eq!(lines[7], "Phường Hà An,-1,");
        assert_eq!(lines[9], "Ghi chú");
    }

    #[test]
    fn an_xlsx_cell_longer_than_excel_allows_is_cut_instead_of_failing_the_download() {
        let mut t = table();
        t.rows[1][0] = Cell::Text("Phường ".repeat(6_000));
        let bytes = xlsx(&t, "Tiến độ").expect("a download, not an error");
        let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let range = wb.worksheet_range("Tiến độ").unwrap();
        let Some(Data::String(cell)) = range.get_value((XLSX_HEADER_ROW + 2, 0)).cloned() else {
            panic!("the long cell is missing");
        };
        assert_eq!(cell.chars().count(), XLSX_CELL_CHARS);
        assert!(cell.starts_with("Phường Phường") && cell.ends_with('…'));
    }

    #[test]
    fn xlsx_reads_back_with_numbers_as_numbers() {
        let bytes = xlsx(&table(), "Tiến độ").unwrap();
        let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(wb.sheet_names(), vec!["Tiến độ".to_owned()]);
        let range = wb.worksheet_range("Tiến độ").unwrap();
        let at = |r: u32, c: u32| range.get_value((r, c)).cloned().unwrap_or(Data::Empty);
        assert_eq!(at(0, 0), Data::String("Báo cáo tiến độ".into()));
        assert_eq!(at(2, 1), Data::String("Tháng 11/2026".into()));
        assert_eq!(at(XLSX_HEADER_ROW, 1), Data::String("Tiếp nhận".into()));
        assert_eq!(at(XLSX_HEADER_ROW + 1, 1), Data::Float(12.0));
        assert_eq!(at(XLSX_HEADER_ROW + 1, 2), Data::Float(3.5));
        assert_eq!(
            at(XLSX_HEADER_ROW + 2, 0),
            Data::String("Phường Hà An".into())
        );
    }
}
