//! The headline figures as a chart (SVG), drawn with plotters' SVG backend:
//! one panel per workload, one bar per system, each bar as long as the
//! system's speed on that workload relative to the fastest (longer is
//! faster, whichever way the figure reads), labelled with the figure itself.

use std::path::Path;

use plotters::prelude::*;

/// One workload's bars.
pub struct Panel {
    /// The workload, as the tables name it.
    pub title: String,
    /// The headline figure's unit (`ns/msg`, `M msg/s`..).
    pub figure: String,
    /// Whether more of the figure is better.
    pub higher_is_better: bool,
    /// Each system's median, in the tables' order.
    pub bars: Vec<(String, f64)>,
}

const WIDTH: u32 = 760;
const TITLE: i32 = 24;
const BAR: i32 = 18;
const GAP: i32 = 14;
const LEFT: i32 = 130;
const LONGEST: f64 = 440.0;

/// Draws `panels` into an SVG file at `path`.
pub fn draw(panels: &[Panel], path: &Path) -> Result<(), String> {
    let height: i32 = panels
        .iter()
        .map(|p| TITLE + BAR * p.bars.len() as i32 + GAP)
        .sum::<i32>()
        + GAP;
    let root = SVGBackend::new(path, (WIDTH, height.max(1) as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let stage = RGBColor(0xd9, 0x48, 0x0f);
    let peer = RGBColor(0x86, 0x8e, 0x96);
    let text = |size: u32| ("sans-serif", size).into_font();
    let mut y = GAP;
    for panel in panels {
        let speed = |value: f64| {
            if panel.higher_is_better {
                value
            } else {
                1.0 / value
            }
        };
        let fastest = panel
            .bars
            .iter()
            .map(|(_, v)| speed(*v))
            .fold(f64::MIN, f64::max);
        let better = if panel.higher_is_better {
            "higher is better"
        } else {
            "lower is better"
        };
        root.draw(&Text::new(
            format!("{} ({}, {better})", panel.title, panel.figure),
            (8, y),
            text(15).style(FontStyle::Bold),
        ))
        .map_err(|e| e.to_string())?;
        y += TITLE;
        for (system, value) in &panel.bars {
            let length = (speed(*value) / fastest * LONGEST).max(1.0) as i32;
            let colour = if system == "stage" { stage } else { peer };
            root.draw(&Text::new(system.clone(), (8, y + 2), text(13)))
                .map_err(|e| e.to_string())?;
            root.draw(&Rectangle::new(
                [(LEFT, y), (LEFT + length, y + BAR - 4)],
                colour.filled(),
            ))
            .map_err(|e| e.to_string())?;
            root.draw(&Text::new(
                crate::report::fmt(*value),
                (LEFT + length + 6, y + 2),
                text(13),
            ))
            .map_err(|e| e.to_string())?;
            y += BAR;
        }
        y += GAP;
    }
    root.present().map_err(|e| e.to_string())
}
