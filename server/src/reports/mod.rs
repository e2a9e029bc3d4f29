//! Leadership reports: progress of dossiers, data quality, officers, data-use inspection and
//! coverage, per unit and period, as console pages, JSON (`/v1/reports/…`), CSV and XLSX; and
//! the server-rendered SVG charts that go with them.

pub mod chart;
pub mod export;
pub mod period;
