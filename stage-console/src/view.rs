//! Drawing the cluster: a title line with the totals, the theatres, the
//! links, then the actors by type beside the busiest mailboxes.

use std::time::Duration;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use crate::cluster::Cluster;

/// Draws `cluster` on the whole of `frame`; `every` is the refresh period.
pub fn draw(frame: &mut Frame<'_>, cluster: &Cluster, every: Duration) {
    let theatres = cluster.theatres.len().max(1) as u16;
    let [title, theatres_area, links_area, middle] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(theatres + 3),
        Constraint::Length(links_height(cluster)),
        Constraint::Min(6),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(title_line(cluster, every)), title);
    draw_theatres(frame, cluster, theatres_area);
    let [types_area, busy_area] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(middle);
    draw_types(frame, cluster, types_area);
    draw_busiest(frame, cluster, busy_area);
    draw_links(frame, cluster, links_area);
}

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

fn title_line(cluster: &Cluster, every: Duration) -> Line<'static> {
    let reachable = cluster.reachable().count();
    let actors: u64 = cluster.reachable().map(|(_, _, r)| r.actors).sum();
    let letters: f64 = cluster
        .reachable()
        .filter_map(|(_, watched, _)| watched.rates())
        .map(|rates| rates.letters)
        .fold(0.0, |sum, letters| sum + letters);
    Line::styled(
        format!(
            "Stage console: {reachable} of {} theatres answering, {actors} actors, {} letters/s \
             (every {:.1} s; q quits)",
            cluster.theatres.len(),
            count(letters),
            every.as_secs_f64()
        ),
        bold(),
    )
}

fn draw_theatres(frame: &mut Frame<'_>, cluster: &Cluster, area: Rect) {
    let header = Row::new([
        "theatre",
        "workers",
        "busy",
        "letters/s",
        "waiting",
        "actors",
        "links",
        "uptime",
        "load",
        "",
    ])
    .style(bold());
    let rows = cluster.theatres.iter().map(|(locator, watched)| {
        match (watched.last.as_ref(), watched.error.as_ref()) {
            (Some(report), None) => {
                let rates = watched.rates();
                Row::new([
                    Cell::from(locator.clone()),
                    Cell::from(report.workers.to_string()),
                    Cell::from(
                        rates
                            .as_ref()
                            .map_or("-".into(), |r| format!("{:.0}%", r.busy * 100.0)),
                    ),
                    Cell::from(rates.as_ref().map_or("-".into(), |r| count(r.letters))),
                    Cell::from(report.waiting.to_string()),
                    Cell::from(report.actors.to_string()),
                    Cell::from(report.links.len().to_string()),
                    Cell::from(uptime(Duration::from_micros(report.uptime_us))),
                    Cell::from(
                        report
                            .load_average
                            .map_or("-".into(), |l| format!("{l:.2}")),
                    ),
                    Cell::from(""),
                ])
            }
            (_, error) => {
                let mut cells = vec![Cell::from(locator.clone())];
                cells.extend((0..8).map(|_| Cell::from("-")));
                cells.push(Cell::from(format!(
                    "unreachable: {}",
                    error.map_or("not asked yet", String::as_str)
                )));
                Row::new(cells)
            }
        }
    });
    let widths = [
        Constraint::Length(28),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(10),
        Constraint::Length(6),
        Constraint::Min(10),
    ];
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(Block::bordered().title(" Theatres ")),
        area,
    );
}

fn draw_types(frame: &mut Frame<'_>, cluster: &Cluster, area: Rect) {
    let header = Row::new(["type", "live", "theatres"]).style(bold());
    let rows = cluster
        .types()
        .into_iter()
        .map(|(name, live, on)| Row::new([short_type(&name), live.to_string(), on.to_string()]));
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Min(20),
                Constraint::Length(9),
                Constraint::Length(8),
            ],
        )
        .header(header)
        .block(Block::bordered().title(" Actors by type ")),
        area,
    );
}

fn draw_busiest(frame: &mut Frame<'_>, cluster: &Cluster, area: Rect) {
    let header = Row::new(["actor", "type", "theatre", "full turns/s", "last"]).style(bold());
    let rows = cluster.busiest().into_iter().map(|busy| {
        Row::new([
            busy.actor,
            short_type(&busy.type_name),
            busy.theatre.trim_start_matches("stage://").to_owned(),
            format!("{:.1}", busy.full_turns_per_second),
            format!("{:.0} s ago", busy.last_seen.as_secs_f64()),
        ])
    });
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(26),
                Constraint::Min(12),
                Constraint::Length(16),
                Constraint::Length(12),
                Constraint::Length(9),
            ],
        )
        .header(header)
        .block(Block::bordered().title(" Busiest mailboxes (turns that left letters waiting) ")),
        area,
    );
}

/// Rows for every link, plus the border and header.
fn links_height(cluster: &Cluster) -> u16 {
    let links: usize = cluster.reachable().map(|(_, _, r)| r.links.len()).sum();
    (links.clamp(1, 12) + 3) as u16
}

fn draw_links(frame: &mut Frame<'_>, cluster: &Cluster, area: Rect) {
    let header = Row::new([
        "from", "to", "out B/s", "in B/s", "backlog", "in care", "open",
    ])
    .style(bold());
    let mut rows = Vec::new();
    for (locator, watched, report) in cluster.reachable() {
        let rates = watched.rates();
        for link in &report.links {
            let rate = |of: Option<&Vec<(String, f64)>>| {
                of.and_then(|rates| rates.iter().find(|(to, _)| *to == link.locator))
                    .map_or("-".into(), |(_, r)| count(*r))
            };
            rows.push(Row::new([
                locator.trim_start_matches("stage://").to_owned(),
                link.locator.trim_start_matches("stage://").to_owned(),
                rate(rates.as_ref().map(|r| &r.bytes_out)),
                rate(rates.as_ref().map(|r| &r.bytes_in)),
                link.backlog.to_string(),
                link.in_care.to_string(),
                uptime(Duration::from_millis(link.open_ms)),
            ]));
        }
    }
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(22),
                Constraint::Length(22),
                Constraint::Length(10),
                Constraint::Length(10),
                Constraint::Length(8),
                Constraint::Length(9),
                Constraint::Length(10),
            ],
        )
        .header(header)
        .block(Block::bordered().title(" Links ")),
        area,
    );
}

/// A type's name without the module path of its generic arguments' crates:
/// `bank::Account` stays, `my_app::actors::Account` becomes `actors::Account`.
fn short_type(name: &str) -> String {
    let base = name.split('<').next().unwrap_or(name);
    let parts: Vec<&str> = base.split("::").collect();
    let short = if parts.len() > 2 {
        parts[parts.len() - 2..].join("::")
    } else {
        base.to_owned()
    };
    match name.find('<') {
        Some(at) => format!("{short}{}", &name[at..]),
        None => short,
    }
}

/// A count for a person: 950, 12.3k, 4.56M.
fn count(n: f64) -> String {
    if n >= 1e6 {
        format!("{:.2}M", n / 1e6)
    } else if n >= 1e4 {
        format!("{:.1}k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

/// `3d 4h`, `2h 10m`, `5m 3s`, `42s`.
fn uptime(duration: Duration) -> String {
    let s = duration.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3_599 => format!("{}m {}s", s / 60, s % 60),
        3_600..=86_399 => format!("{}h {}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_are_short() {
        assert_eq!(short_type("my_app::actors::Account"), "actors::Account");
        assert_eq!(short_type("bank::Account"), "bank::Account");
        assert_eq!(
            short_type("stage_runtime::drivers::Topic<alloc::string::String>"),
            "drivers::Topic<alloc::string::String>"
        );
        assert_eq!(count(950.0), "950");
        assert_eq!(count(12_345.0), "12.3k");
        assert_eq!(count(4_560_000.0), "4.56M");
        assert_eq!(uptime(Duration::from_secs(42)), "42s");
        assert_eq!(uptime(Duration::from_secs(7_800)), "2h 10m");
    }
}
