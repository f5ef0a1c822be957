//! Line charts as hand-written SVG text, for benchmarks that publish a plot beside their table:
//! panels side by side, each with its own time axis (seconds) and a 0–100 % axis.

use std::fmt::Write as _;

/// One line of a [`Panel`]: points of (seconds, share from 0 to 1).
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub(crate) label: String,
    pub(crate) color: &'static str,
    pub(crate) points: Vec<(f64, f64)>,
}

/// One chart: a title and its lines.
#[derive(Debug, Clone)]
pub(crate) struct Panel {
    pub(crate) title: String,
    pub(crate) series: Vec<Series>,
}

const PANEL_WIDTH: f64 = 420.0;
const PANEL_HEIGHT: f64 = 300.0;
/// Room for the axis labels (left, bottom) and the title (top), inside each panel.
const LEFT: f64 = 50.0;
const BOTTOM: f64 = 60.0;
const TOP: f64 = 40.0;
const RIGHT: f64 = 15.0;

/// The SVG document of `panels` side by side.
pub(crate) fn render(panels: &[Panel]) -> String {
    let width = PANEL_WIDTH * panels.len().max(1) as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{PANEL_HEIGHT}\" \
         font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (i, panel) in panels.iter().enumerate() {
        let x = PANEL_WIDTH * i as f64;
        let _ = writeln!(svg, "<g transform=\"translate({x},0)\">");
        draw_panel(&mut svg, panel);
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>\n");
    svg
}

/// The axes, grid, lines and legend of one panel at the origin.
fn draw_panel(svg: &mut String, panel: &Panel) {
    let (w, h) = (PANEL_WIDTH - LEFT - RIGHT, PANEL_HEIGHT - TOP - BOTTOM);
    let x_max = nice_max(panel.series.iter().flat_map(|s| &s.points).map(|p| p.0));
    let to_x = |t: f64| LEFT + t / x_max * w;
    let to_y = |share: f64| TOP + (1.0 - share) * h;
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"13\">{}</text>",
        LEFT + w / 2.0,
        escape(&panel.title)
    );
    for step in 0..=4 {
        let share = f64::from(step) / 4.0;
        let (y, x) = (to_y(share), to_x(x_max * share));
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.0} %</text>\
             <line x1=\"{x}\" y1=\"{TOP}\" x2=\"{x}\" y2=\"{}\" stroke=\"#eee\"/>\
             <text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            LEFT + w,
            LEFT - 4.0,
            y + 4.0,
            share * 100.0,
            TOP + h,
            TOP + h + 14.0,
            trim(x_max * share),
        );
    }
    let _ = writeln!(
        svg,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#444\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">seconds</text>",
        LEFT + w / 2.0,
        TOP + h + 28.0
    );
    for (i, series) in panel.series.iter().enumerate() {
        let points: Vec<String> = series
            .points
            .iter()
            .map(|(t, share)| format!("{:.1},{:.1}", to_x(*t), to_y(*share)))
            .collect();
        let legend_y = TOP + h + 42.0 + 12.0 * i as f64 - 12.0 * (i / 2) as f64;
        let legend_x = LEFT + (i % 2) as f64 * w / 2.0;
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>\
             <line x1=\"{legend_x}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{color}\" stroke-width=\"2\"/>\
             <text x=\"{}\" y=\"{legend_y}\">{}</text>",
            points.join(" "),
            legend_y - 4.0,
            legend_x + 14.0,
            legend_y - 4.0,
            legend_x + 18.0,
            escape(&series.label),
            color = series.color,
        );
    }
}

/// A round upper bound for an axis: 1, 2 or 5 times a power of ten, at least `values`' max.
fn nice_max(values: impl Iterator<Item = f64>) -> f64 {
    let max = values.fold(0.0_f64, f64::max).max(1e-3);
    let magnitude = 10_f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|bound| *bound >= max)
        .unwrap_or(max)
}

/// An axis number without trailing zeros: 2.5, 10, 0.25.
fn trim(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Text safe inside an SVG element.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn axes_are_round_and_text_is_escaped() {
    assert_eq!(nice_max([0.3, 7.2].into_iter()), 10.0);
    assert_eq!(nice_max([12.0].into_iter()), 20.0);
    assert_eq!(trim(2.5), "2.5");
    assert_eq!(trim(10.0), "10");
    let svg = render(&[Panel {
        title: "a < b".to_owned(),
        series: vec![Series {
            label: "nodes".to_owned(),
            color: "#1f77b4",
            points: vec![(0.0, 0.0), (1.0, 1.0)],
        }],
    }]);
    assert!(svg.contains("a &lt; b") && svg.contains("<polyline"));
}
