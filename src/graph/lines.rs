//! The graph's lines (capability arrows, traffic, the selection and hover rings, the denied
//! pulses, the endpoint boxes, the spawn/exit/kill effects and the kill zone's frame) as the
//! triangles of one mesh, drawn in one instance of one draw.
//!
//! Why not Bevy's gizmos: SwiftShader, the software renderer of a laptop without a GPU, runs an
//! instanced draw instance by instance, and a gizmo line is an instance per segment (the crowd
//! drew 413 of them a frame, in three draws). Here the systems that draw put every line of the
//! frame into [`GraphLines`] (a [`OneMesh`]); [`flush_graph_lines`] writes the mesh only when the
//! lines differ from the ones it shows, so a still graph uploads nothing.
//!
//! Widths are in world units (the callers turn the theme's screen pixels into world units at the
//! current zoom, as gizmo widths followed the zoom before). Lines are not antialiased, as gizmo
//! lines were not; colours blend with straight alpha, as theirs did.

use bevy::asset::RenderAssetUsages;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;

use super::one_mesh::{OneMesh, ShapeBatch};

/// Above everything else on the canvas (edge bars 0.5, nodes 1.0), as the gizmos drew last.
pub const Z_LINES: f32 = 10.0;

impl ShapeBatch for LineBatch {
    fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    fn clear(&mut self) {
        self.positions.clear();
        self.colors.clear();
        self.indices.clear();
    }

    fn to_mesh(&self) -> Mesh {
        Mesh::new(
            PrimitiveTopology::TriangleList,
            RenderAssetUsages::default(),
        )
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, self.positions.clone())
        .with_inserted_attribute(Mesh::ATTRIBUTE_COLOR, self.colors.clone())
        .with_inserted_indices(Indices::U32(self.indices.clone()))
    }
}

/// Vertex data of lines, in world units.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LineBatch {
    positions: Vec<[f32; 3]>,
    colors: Vec<[f32; 4]>,
    indices: Vec<u32>,
}

impl LineBatch {
    /// Triangles in the batch.
    #[cfg(test)]
    pub fn triangles(&self) -> usize {
        self.indices.len() / 3
    }

    /// The batch's vertices: (position, linear colour).
    #[cfg(test)]
    pub fn vertices(&self) -> impl Iterator<Item = (Vec2, LinearRgba)> + '_ {
        self.positions
            .iter()
            .zip(&self.colors)
            .map(|(p, c)| (Vec2::new(p[0], p[1]), LinearRgba::from_f32_array(*c)))
    }

    /// A quadrilateral, corners in order around it.
    fn quad(&mut self, corners: [Vec2; 4], color: LinearRgba) {
        let Ok(first) = u32::try_from(self.positions.len()) else {
            return;
        };
        let rgba = color.to_f32_array();
        for corner in corners {
            self.positions.push([corner.x, corner.y, 0.0]);
            self.colors.push(rgba);
        }
        self.indices
            .extend([first, first + 1, first + 2, first, first + 2, first + 3]);
    }

    /// A straight line from `a` to `b`, `width` wide; nothing if the two points are one.
    pub fn segment(&mut self, a: Vec2, b: Vec2, width: f32, color: impl Into<LinearRgba>) {
        let dir = (b - a).normalize_or_zero();
        if dir == Vec2::ZERO || width <= 0.0 || !width.is_finite() {
            return;
        }
        let n = dir.perp() * (width * 0.5);
        self.quad([a + n, a - n, b - n, b + n], color.into());
    }

    /// A circle of `radius` around `centre` drawn as `resolution` straight pieces (as a gizmo
    /// circle is), the band `width` wide centred on the radius. The pieces share their ends, so
    /// the ring has no notches.
    pub fn ring(
        &mut self,
        centre: Vec2,
        radius: f32,
        width: f32,
        color: impl Into<LinearRgba>,
        resolution: u32,
    ) {
        if radius <= 0.0 || width <= 0.0 || !radius.is_finite() || !width.is_finite() {
            return;
        }
        let color = color.into();
        let resolution = resolution.clamp(3, 256);
        let (inner, outer) = ((radius - width * 0.5).max(0.0), radius + width * 0.5);
        let mut previous = Vec2::X;
        for i in 1..=resolution {
            let dir = Vec2::from_angle(std::f32::consts::TAU * i as f32 / resolution as f32);
            self.quad(
                [
                    centre + previous * inner,
                    centre + previous * outer,
                    centre + dir * outer,
                    centre + dir * inner,
                ],
                color,
            );
            previous = dir;
        }
    }

    /// The outline of an axis-aligned rectangle, the band `width` wide centred on its edges,
    /// square corners.
    pub fn rect_outline(
        &mut self,
        centre: Vec2,
        size: Vec2,
        width: f32,
        color: impl Into<LinearRgba>,
    ) {
        if width <= 0.0 || !width.is_finite() || !size.is_finite() {
            return;
        }
        let color = color.into();
        let half = size.abs() * 0.5;
        let h = width * 0.5;
        let (outer_min, outer_max) = (centre - half - h, centre + half + h);
        let (inner_min, inner_max) = (centre - half + h, centre + half - h);
        let mut band = |min: Vec2, max: Vec2| {
            if max.x > min.x && max.y > min.y {
                self.quad(
                    [min, Vec2::new(max.x, min.y), max, Vec2::new(min.x, max.y)],
                    color,
                );
            }
        };
        if inner_max.x <= inner_min.x || inner_max.y <= inner_min.y {
            // Narrower than its own lines: one filled box.
            band(outer_min, outer_max);
            return;
        }
        band(outer_min, Vec2::new(outer_max.x, inner_min.y));
        band(Vec2::new(outer_min.x, inner_max.y), outer_max);
        band(
            Vec2::new(outer_min.x, inner_min.y),
            Vec2::new(inner_min.x, inner_max.y),
        );
        band(
            Vec2::new(inner_max.x, inner_min.y),
            Vec2::new(outer_max.x, inner_max.y),
        );
    }

    /// A line from `start` to `end` with a head at `end`: two strokes `tip` long, 45 degrees
    /// off the line (the head a 2D gizmo arrow drew).
    pub fn arrow(
        &mut self,
        start: Vec2,
        end: Vec2,
        tip: f32,
        width: f32,
        color: impl Into<LinearRgba>,
    ) {
        let color = color.into();
        let dir = (end - start).normalize_or_zero();
        if dir == Vec2::ZERO {
            return;
        }
        self.segment(start, end, width, color);
        let back = -dir * std::f32::consts::FRAC_1_SQRT_2 * tip;
        let side = dir.perp() * std::f32::consts::FRAC_1_SQRT_2 * tip;
        self.segment(end, end + back + side, width, color);
        self.segment(end, end + back - side, width, color);
    }
}

/// This frame's lines, filled by the drawing systems (in [`GraphLineSystems::Draw`]) and made
/// into the mesh by [`flush_graph_lines`].
pub type GraphLines = OneMesh<LineBatch>;

/// Systems that put lines into [`GraphLines::frame`] run in `Draw`; the mesh is written in `Flush`.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum GraphLineSystems {
    Draw,
    Flush,
}

/// Adds the lines' resource and their flush (after every system in [`GraphLineSystems::Draw`]).
pub fn add_graph_lines(app: &mut App) {
    app.init_resource::<GraphLines>()
        .configure_sets(
            Update,
            (GraphLineSystems::Draw, GraphLineSystems::Flush).chain(),
        )
        .add_systems(Update, flush_graph_lines.in_set(GraphLineSystems::Flush));
}

/// Writes this frame's lines into the one mesh if they changed, shows or hides it, and starts the
/// next frame's batch empty.
pub fn flush_graph_lines(
    mut commands: Commands,
    mut lines: ResMut<GraphLines>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
    mut visibility: Query<&mut Visibility>,
) {
    lines.flush(&mut commands, &mut meshes, &mut visibility, Z_LINES, || {
        materials.add(ColorMaterial {
            color: Color::WHITE,
            alpha_mode: bevy::sprite_render::AlphaMode2d::Blend,
            ..default()
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::asset::AssetPlugin;
    use bevy::camera::visibility::NoFrustumCulling;

    fn red() -> LinearRgba {
        LinearRgba::new(1.0, 0.0, 0.0, 0.5)
    }

    /// The area the batch's triangles cover (they never overlap in these shapes).
    fn area(batch: &LineBatch) -> f32 {
        let v: Vec<Vec2> = batch.vertices().map(|(p, _)| p).collect();
        batch
            .indices
            .chunks(3)
            .map(|t| {
                let (a, b, c) = (v[t[0] as usize], v[t[1] as usize], v[t[2] as usize]);
                ((b - a).perp_dot(c - a) * 0.5).abs()
            })
            .sum()
    }

    #[test]
    fn a_segment_is_a_quad_as_long_as_the_line_and_as_wide_as_asked() {
        let mut batch = LineBatch::default();
        batch.segment(Vec2::ZERO, Vec2::new(10.0, 0.0), 2.0, red());
        assert_eq!(batch.triangles(), 2);
        assert!((area(&batch) - 20.0).abs() < 1e-4);
        for (p, c) in batch.vertices() {
            assert!(p.y.abs() == 1.0 && (p.x == 0.0 || p.x == 10.0), "{p}");
            assert_eq!(c, red());
        }
        // A point, a zero width, a NaN: nothing drawn.
        batch.clear();
        batch.segment(Vec2::ONE, Vec2::ONE, 2.0, red());
        batch.segment(Vec2::ZERO, Vec2::X, 0.0, red());
        batch.segment(Vec2::ZERO, Vec2::X, f32::NAN, red());
        assert!(batch.is_empty());
    }

    #[test]
    fn a_ring_is_a_closed_band_around_its_radius() {
        let mut batch = LineBatch::default();
        batch.ring(Vec2::new(5.0, 5.0), 10.0, 2.0, red(), 48);
        assert_eq!(batch.triangles(), 96);
        for (p, _) in batch.vertices() {
            let d = p.distance(Vec2::new(5.0, 5.0));
            assert!((d - 9.0).abs() < 1e-3 || (d - 11.0).abs() < 1e-3, "{d}");
        }
        // A 48-gon's band: close to the annulus's area.
        let annulus = std::f32::consts::PI * (11.0f32.powi(2) - 9.0f32.powi(2));
        assert!((area(&batch) / annulus - 1.0).abs() < 0.01);
        batch.clear();
        batch.ring(Vec2::ZERO, 0.0, 2.0, red(), 32);
        assert!(batch.is_empty());
    }

    #[test]
    fn a_rect_outline_is_four_bands_with_square_corners() {
        let mut batch = LineBatch::default();
        batch.rect_outline(Vec2::ZERO, Vec2::new(20.0, 10.0), 2.0, red());
        assert_eq!(batch.triangles(), 8);
        // Outer 22x12 less inner 18x8.
        assert!((area(&batch) - (22.0 * 12.0 - 18.0 * 8.0)).abs() < 1e-3);
        // Smaller than its lines: one filled box.
        batch.clear();
        batch.rect_outline(Vec2::ZERO, Vec2::splat(1.0), 2.0, red());
        assert_eq!(batch.triangles(), 2);
        assert!((area(&batch) - 9.0).abs() < 1e-4);
    }

    #[test]
    fn an_arrow_is_its_line_and_two_strokes_back_from_the_end() {
        let mut batch = LineBatch::default();
        batch.arrow(Vec2::ZERO, Vec2::new(100.0, 0.0), 10.0, 1.0, red());
        assert_eq!(batch.triangles(), 6);
        let ends: Vec<Vec2> = batch.vertices().map(|(p, _)| p).collect();
        let tip = 10.0 * std::f32::consts::FRAC_1_SQRT_2;
        for expected in [Vec2::new(100.0 - tip, tip), Vec2::new(100.0 - tip, -tip)] {
            assert!(
                ends.iter().any(|p| p.distance(expected) < 0.51),
                "no stroke ends near {expected}: {ends:?}"
            );
        }
    }

    fn lines_app() -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default()))
            .init_asset::<Mesh>()
            .init_asset::<ColorMaterial>();
        add_graph_lines(&mut app);
        app
    }

    fn draw(app: &mut App, f: impl Fn(&mut LineBatch)) {
        f(&mut app.world_mut().resource_mut::<GraphLines>().frame);
        app.update();
    }

    #[test]
    fn the_mesh_is_written_when_the_lines_change_and_hidden_when_there_are_none() {
        let mut app = lines_app();
        let one = |b: &mut LineBatch| b.segment(Vec2::ZERO, Vec2::X * 10.0, 1.0, red());
        draw(&mut app, one);
        let lines = app.world().resource::<GraphLines>();
        let entity = lines.entity().expect("spawned with the first lines");
        assert_eq!(lines.shown().triangles(), 2);
        assert!(lines.frame.is_empty(), "the next frame starts empty");
        let handle = app.world().get::<Mesh2d>(entity).unwrap().0.clone();
        let mesh = app.world().resource::<Assets<Mesh>>().get(&handle).unwrap();
        assert_eq!(mesh.count_vertices(), 4);
        assert_eq!(
            app.world().get::<Transform>(entity).unwrap().translation.z,
            Z_LINES
        );
        assert!(app.world().get::<NoFrustumCulling>(entity).is_some());

        // The same lines again: the mesh is not touched.
        let mut changed = app.world_mut().resource_mut::<Messages<AssetEvent<Mesh>>>();
        changed.clear();
        draw(&mut app, one);
        let events = app.world().resource::<Messages<AssetEvent<Mesh>>>();
        let modified = events
            .iter_current_update_messages()
            .filter(|e| matches!(e, AssetEvent::Modified { .. }))
            .count();
        assert_eq!(modified, 0, "unchanged lines are not uploaded again");

        // Different lines: written, same entity and mesh.
        draw(&mut app, |b| {
            b.ring(Vec2::ZERO, 10.0, 1.0, red(), 32);
        });
        let lines = app.world().resource::<GraphLines>();
        assert_eq!(lines.entity(), Some(entity));
        assert_eq!(lines.shown().triangles(), 64);
        let mesh = app.world().resource::<Assets<Mesh>>().get(&handle).unwrap();
        assert_eq!(mesh.count_vertices(), 128);
        assert_eq!(
            app.world().get::<Visibility>(entity),
            Some(&Visibility::Inherited)
        );

        // No lines: hidden; lines again: shown.
        draw(&mut app, |_| {});
        assert_eq!(
            app.world().get::<Visibility>(entity),
            Some(&Visibility::Hidden)
        );
        draw(&mut app, one);
        assert_eq!(
            app.world().get::<Visibility>(entity),
            Some(&Visibility::Inherited)
        );
        assert_eq!(app.world().resource::<Assets<ColorMaterial>>().len(), 1);
    }
}
