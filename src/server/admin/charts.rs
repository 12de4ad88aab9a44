//! The overview's charts, drawn on the server as SVG with `plotters`. Its
//! SVG backend writes text as `<text>`, so a chart reads without
//! JavaScript; each gets a `<title>` and an accessible name here, and the
//! page puts the same figures in a table next to it.

use plotters::prelude::*;

const WIDTH: u32 = 720;
/// Horizontal units per slot.
const SLOT: i32 = 100;
const HEIGHT: u32 = 250;
const AXIS_TEXT: (u8, u8, u8) = (90, 96, 110);
const GRID: (u8, u8, u8) = (232, 234, 240);

/// One series: its name, colour and a value per bar (`None`: nothing was
/// measured there).
pub struct Series {
    pub label: String,
    pub color: (u8, u8, u8),
    pub values: Vec<Option<f64>>,
}

/// How the series are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One bar per slot, the series stacked in order.
    StackedBars,
    /// One line per series through the middle of each slot.
    Lines,
}

/// What to draw.
pub struct Chart<'a> {
    pub title: &'a str,
    /// The accessible name: what the chart shows, in words.
    pub summary: &'a str,
    /// A label per slot.
    pub slot_labels: &'a [String],
    /// The slots whose label is written under the axis.
    pub ticks: Vec<usize>,
    /// The vertical axis' unit, e.g. "ms" (empty: a count).
    pub unit: &'a str,
    pub series: &'a [Series],
    pub shape: Shape,
}

#[derive(Debug, thiserror::Error)]
#[error("drawing the chart failed: {0}")]
pub struct ChartError(String);

fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}

/// The highest point the chart must show.
fn top(chart: &Chart) -> f64 {
    let slots = chart.slot_labels.len();
    let highest = match chart.shape {
        Shape::StackedBars => (0..slots)
            .map(|i| {
                chart
                    .series
                    .iter()
                    .map(|s| s.values.get(i).copied().flatten().unwrap_or(0.0))
                    .sum::<f64>()
            })
            .fold(0.0, f64::max),
        Shape::Lines => chart
            .series
            .iter()
            .flat_map(|s| s.values.iter().copied().flatten())
            .fold(0.0, f64::max),
    };
    // Room above the highest bar; an empty chart still has an axis. Counts
    // reach a whole number, at least 4, so their ticks are whole numbers.
    if chart.unit.is_empty() {
        (highest * 1.15).ceil().max(4.0)
    } else {
        (highest * 1.15).max(1.0)
    }
}

/// The chart as an SVG document.
pub fn draw(chart: &Chart) -> Result<String, ChartError> {
    let mut svg = String::new();
    render(chart, &mut svg).map_err(|e| ChartError(e.to_string()))?;
    Ok(accessible(&svg, chart.title, chart.summary))
}

fn render(chart: &Chart, out: &mut String) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let slots = chart.slot_labels.len().max(1);
    let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    // Horizontal positions are in hundredths of a slot: integers, whose
    // axis takes the chosen tick points.
    let ticks: Vec<i32> = chart.ticks.iter().map(|t| *t as i32 * SLOT).collect();
    let mut area = ChartBuilder::on(&root)
        .margin_top(12)
        .margin_right(16)
        .x_label_area_size(30)
        .y_label_area_size(52)
        .build_cartesian_2d(
            (0..slots as i32 * SLOT).with_key_points(ticks),
            0f64..top(chart),
        )?;
    let label_font = ("sans-serif", 13).into_font().color(&rgb(AXIS_TEXT));
    let unit = chart.unit;
    let slot_labels = chart.slot_labels;
    area.configure_mesh()
        .disable_x_mesh()
        .bold_line_style(rgb(GRID))
        .light_line_style(TRANSPARENT)
        .axis_style(rgb(AXIS_TEXT))
        .x_label_style(label_font.clone())
        .y_label_style(label_font)
        .x_label_formatter(&|x| {
            usize::try_from(x / SLOT)
                .ok()
                .and_then(|slot| slot_labels.get(slot).cloned())
                .unwrap_or_default()
        })
        .y_labels(5)
        .y_label_formatter(&|y| {
            let value = if unit.is_empty() || *y >= 10.0 || *y == 0.0 {
                format!("{y:.0}")
            } else {
                format!("{y:.1}")
            };
            if unit.is_empty() {
                value
            } else {
                format!("{value} {unit}")
            }
        })
        .draw()?;
    match chart.shape {
        Shape::StackedBars => {
            let mut bases = vec![0.0; slots];
            for series in chart.series {
                let color = rgb(series.color);
                let bars = series.values.iter().enumerate().filter_map(|(i, v)| {
                    let v = v.filter(|v| *v > 0.0)?;
                    let base = bases[i];
                    bases[i] += v;
                    let x = i as i32 * SLOT;
                    Some(Rectangle::new(
                        [(x + SLOT / 8, base), (x + SLOT * 7 / 8, base + v)],
                        color.filled(),
                    ))
                });
                area.draw_series(bars)?;
            }
        }
        Shape::Lines => {
            for series in chart.series {
                let color = rgb(series.color);
                let points: Vec<(i32, f64)> = series
                    .values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| (i as i32 * SLOT + SLOT / 2, v)))
                    .collect();
                // A slot without a value breaks the line.
                let mut run = Vec::new();
                let mut previous: Option<i32> = None;
                for (x, y) in &points {
                    if previous.is_some_and(|p| x - p > SLOT) {
                        area.draw_series(LineSeries::new(run.drain(..), color.stroke_width(2)))?;
                    }
                    run.push((*x, *y));
                    previous = Some(*x);
                }
                area.draw_series(LineSeries::new(run, color.stroke_width(2)))?;
                area.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
            }
        }
    }
    root.present()?;
    Ok(())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Names the picture for assistive technology: `role="img"`, the summary
/// as its label and the title as its `<title>`.
fn accessible(svg: &str, title: &str, summary: &str) -> String {
    match svg
        .find("<svg")
        .and_then(|start| svg[start..].find('>').map(|end| start + end))
    {
        Some(end) => format!(
            "{} role=\"img\" aria-label=\"{}\"><title>{}</title>{}",
            &svg[..end],
            escape(summary),
            escape(title),
            &svg[end + 1..]
        ),
        None => svg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `svg` writes `text` as a text element.
    fn has_text(svg: &str, text: &str) -> bool {
        svg.contains(&format!(">\n{text}\n<"))
    }

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{i:02}:00")).collect()
    }

    #[test]
    fn bars_are_drawn_with_their_labels_and_an_accessible_name() {
        let slots = labels(4);
        let series = [
            Series {
                label: "processed".into(),
                color: (46, 125, 50),
                values: vec![Some(3.0), None, Some(1.0), Some(0.0)],
            },
            Series {
                label: "failed".into(),
                color: (198, 40, 40),
                values: vec![Some(1.0), None, None, None],
            },
        ];
        let svg = draw(&Chart {
            title: "Deliveries",
            summary: "4 received & <2 failed>",
            slot_labels: &slots,
            ticks: vec![0, 2],
            unit: "",
            series: &series,
            shape: Shape::StackedBars,
        })
        .expect("drawn");
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains(
            "role=\"img\" aria-label=\"4 received &amp; &lt;2 failed&gt;\"><title>Deliveries</title>"
        ));
        assert!(
            has_text(&svg, "00:00") && has_text(&svg, "02:00"),
            "tick labels: {svg}"
        );
        assert!(
            !has_text(&svg, "01:00"),
            "only the ticks asked for are labelled"
        );
        // Two bars of processed and one of failed: three filled rectangles
        // in the series colours.
        assert_eq!(svg.matches("fill=\"#2E7D32\"").count(), 2, "{svg}");
        assert_eq!(svg.matches("fill=\"#C62828\"").count(), 1);
        assert!(svg.ends_with("</svg>\n") || svg.ends_with("</svg>"));
    }

    #[test]
    fn a_line_breaks_where_nothing_was_measured() {
        let slots = labels(5);
        let series = [Series {
            label: "Calendly".into(),
            color: (0, 107, 255),
            values: vec![Some(4.0), Some(6.0), None, Some(5.0), Some(2.0)],
        }];
        let svg = draw(&Chart {
            title: "Latency",
            summary: "average acknowledgement latency",
            slot_labels: &slots,
            ticks: vec![0],
            unit: "ms",
            series: &series,
            shape: Shape::Lines,
        })
        .expect("drawn");
        let series_lines = svg
            .lines()
            .filter(|l| l.starts_with("<polyline") && l.contains("stroke=\"#006BFF\""))
            .count();
        assert_eq!(series_lines, 2, "two segments: {svg}");
        assert_eq!(svg.matches("<circle").count(), 4, "a dot per value");
        assert!(svg.contains(" ms\n<"), "the unit is on the axis: {svg}");
    }

    #[test]
    fn an_empty_chart_still_draws_its_axes() {
        let slots = labels(3);
        let svg = draw(&Chart {
            title: "Sync runs",
            summary: "no runs",
            slot_labels: &slots,
            ticks: vec![0, 1, 2],
            unit: "",
            series: &[],
            shape: Shape::StackedBars,
        })
        .expect("drawn");
        assert!(svg.contains("<title>Sync runs</title>"));
        assert!(has_text(&svg, "02:00"));
    }
}
