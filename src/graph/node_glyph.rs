//! Every process node drawn by one shader (`node_glyph.wgsl`) on one quad: the disc, the mailbox
//! light and the state ring. All the nodes' quads are the triangles of one mesh
//! ([`NodeGlyphs`], a [`OneMesh`]), drawn in one instance of one draw.
//!
//! On a software renderer (SwiftShader) every instance of an instanced draw costs about as much
//! as a draw. A node used to be three mesh instances (disc, light, ring: 192 in the crowd's 12
//! draws), then one instance of a shared quad (64 in two draws: WebGL2's 4 KiB uniform blocks
//! hold 42 instances); now the crowd's nodes are one instance. Everything per node is in its
//! vertices: the quad's corners in world units, each corner's offset from the node's centre, and a
//! 32-bit tag ([`pack_tag`]). The colours and the widths that follow the zoom are in the one
//! material ([`NodeGlyphMaterial`]).
//!
//! The geometry is the one the meshes had: the disc of the node's radius, the light of
//! `LIGHT_RADIUS_OF_NODE` of the theme's node radius centred `LIGHT_OFFSET` of the radius up and
//! right, the ring centred half the theme's ring width outside the disc and as wide as
//! [`super::draw::line_widths_px`] says at this zoom. Edges are smoothed over one pixel.

use bevy::asset::{AssetPath, RenderAssetUsages, embedded_asset, embedded_path};
use bevy::mesh::{Indices, MeshVertexAttribute, MeshVertexBufferLayoutRef, PrimitiveTopology};
use bevy::prelude::*;
use bevy::render::render_resource::{
    AsBindGroup, RenderPipelineDescriptor, ShaderType, SpecializedMeshPipelineError, VertexFormat,
};
use bevy::shader::ShaderRef;
use bevy::sprite_render::{AlphaMode2d, Material2d, Material2dKey, Material2dPlugin};

use super::one_mesh::{OneMesh, ShapeBatch};
use crate::theme::{Theme, ThemeColor};

/// A glyph vertex's tag ([`pack_tag`]): the same on a quad's four corners.
pub const ATTRIBUTE_GLYPH_TAG: MeshVertexAttribute = MeshVertexAttribute::new(
    "Orbital_GlyphTag",
    0x6f72_6269_7461_6c01,
    VertexFormat::Uint32,
);

/// Every node's quad this frame, in world units, and what each shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GlyphBatch {
    positions: Vec<[f32; 3]>,
    /// Each corner's offset from its node's centre.
    offsets: Vec<[f32; 2]>,
    tags: Vec<u32>,
    indices: Vec<u32>,
    /// The process each quad draws, in order.
    pids: Vec<u32>,
}

impl GlyphBatch {
    /// A node's quad: `half` world units each side of `centre`, showing `tag`. Later quads are
    /// drawn over earlier ones.
    pub fn push(&mut self, pid: u32, centre: Vec2, half: f32, tag: u32) {
        let Ok(first) = u32::try_from(self.positions.len()) else {
            return;
        };
        if !(half > 0.0 && half.is_finite() && centre.is_finite()) {
            return;
        }
        for corner in [
            Vec2::new(-half, -half),
            Vec2::new(half, -half),
            Vec2::new(half, half),
            Vec2::new(-half, half),
        ] {
            let p = centre + corner;
            self.positions.push([p.x, p.y, 0.0]);
            self.offsets.push(corner.to_array());
            self.tags.push(tag);
        }
        self.indices
            .extend([first, first + 1, first + 2, first, first + 2, first + 3]);
        self.pids.push(pid);
    }

    /// How many nodes the batch draws.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.pids.len()
    }

    /// A process's quad: (centre, half side, tag).
    #[cfg(test)]
    pub fn glyph(&self, pid: u32) -> Option<(Vec2, f32, u32)> {
        let i = self.pids.iter().position(|&p| p == pid)?;
        let (a, c) = (self.positions[4 * i], self.positions[4 * i + 2]);
        let centre = Vec2::new(a[0] + c[0], a[1] + c[1]) * 0.5;
        Some((centre, (c[0] - a[0]) * 0.5, self.tags[4 * i]))
    }
}

impl ShapeBatch for GlyphBatch {
    fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    fn clear(&mut self) {
        self.positions.clear();
        self.offsets.clear();
        self.tags.clear();
        self.indices.clear();
        self.pids.clear();
    }

    fn to_mesh(&self) -> Mesh {
        Mesh::new(
            PrimitiveTopology::TriangleList,
            RenderAssetUsages::default(),
        )
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, self.positions.clone())
        .with_inserted_attribute(Mesh::ATTRIBUTE_UV_0, self.offsets.clone())
        .with_inserted_attribute(ATTRIBUTE_GLYPH_TAG, self.tags.clone())
        .with_inserted_indices(Indices::U32(self.indices.clone()))
    }
}

/// The nodes' quads this frame and the one entity that draws them.
pub type NodeGlyphs = OneMesh<GlyphBatch>;

/// The light's radius, as a share of the theme's node radius.
pub const LIGHT_RADIUS_OF_NODE: f32 = 0.28;
/// The light's centre, up and right, as a share of the node's radius on each axis.
pub const LIGHT_OFFSET: f32 = 0.72;

/// Colours in the material: the program palette, the zombie body, three mailbox lights, three
/// state rings.
pub const GLYPH_COLORS: usize = 17;
const ZOMBIE_BODY: u32 = 10;
const FIRST_LIGHT: usize = 11;
const FIRST_RING: usize = 14;

/// The disc's radius in the tag: world units in 1/32 steps (up to 2,047).
const DISC_STEPS_PER_UNIT: f32 = 32.0;

/// The body's colour in the material's palette.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyColor {
    /// Index into [`Theme::program_palette`].
    Program(usize),
    Zombie,
}

/// What one node shows, before packing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GlyphState {
    /// World units (the node's radius times its spawn-animation scale).
    pub disc_radius: f32,
    /// The node's spawn-animation scale, 0 to 1.
    pub scale: f32,
    pub body: BodyColor,
    /// 0 idle, 1 pending, 2 ready.
    pub light: u8,
    /// 0 running, 1 blocked, 2 zombie.
    pub ring: u8,
}

/// Packs a node into the mesh tag: bits 0-15 the disc radius (1/32 world units), 16-23 the
/// scale (1/255), 24-27 the body colour, 28-29 the light, 30-31 the ring.
pub fn pack_tag(state: &GlyphState) -> u32 {
    let disc = (state.disc_radius.max(0.0) * DISC_STEPS_PER_UNIT)
        .round()
        .min(f32::from(u16::MAX)) as u32;
    let scale = (state.scale.clamp(0.0, 1.0) * 255.0).round() as u32;
    let body = match state.body {
        BodyColor::Program(i) => (i as u32).min(ZOMBIE_BODY - 1),
        BodyColor::Zombie => ZOMBIE_BODY,
    };
    disc | scale << 16
        | body << 24
        | u32::from(state.light.min(2)) << 28
        | u32::from(state.ring.min(2)) << 30
}

/// The inverse of [`pack_tag`]: what the shader reads.
#[cfg(test)]
pub fn unpack_tag(tag: u32) -> GlyphState {
    let body = (tag >> 24) & 0xF;
    GlyphState {
        disc_radius: (tag & 0xFFFF) as f32 / DISC_STEPS_PER_UNIT,
        scale: ((tag >> 16) & 0xFF) as f32 / 255.0,
        body: if body >= ZOMBIE_BODY {
            BodyColor::Zombie
        } else {
            BodyColor::Program(body as usize)
        },
        light: ((tag >> 28) & 0x3) as u8,
        ring: ((tag >> 30) & 0x3) as u8,
    }
}

/// The state ring's band in world units around a disc of `disc` world units, as the shader draws
/// it: centred `ring_width / 2` outside the disc, `width_px` screen pixels wide at
/// `world_per_px`, never reaching inside the centre. Returns (inner, outer) radius.
pub fn ring_band(disc: f32, ring_width: f32, width_px: f32, world_per_px: f32) -> (f32, f32) {
    let centre = disc + ring_width * 0.5;
    let half = (width_px * world_per_px * 0.5).min(centre);
    (centre - half, centre + half)
}

/// Half the side of the quad a node needs, in world units: the ring, and the light that pokes out
/// past it at the upper right, plus two pixels for the smoothed edge.
pub fn glyph_half_extent(
    disc: f32,
    scale: f32,
    theme: &Theme,
    ring_px: f32,
    world_per_px: f32,
) -> f32 {
    let (_, outer) = ring_band(disc, theme.ring_width, ring_px, world_per_px);
    let light = std::f32::consts::SQRT_2 * LIGHT_OFFSET * disc
        + theme.node_radius * LIGHT_RADIUS_OF_NODE * scale;
    outer.max(light) + 2.0 * world_per_px
}

/// The shared uniform: colours (linear) and the widths that follow the zoom.
#[derive(ShaderType, Clone, Debug, PartialEq)]
pub struct NodeGlyphUniform {
    pub colors: [LinearRgba; GLYPH_COLORS],
    pub ring_width: f32,
    pub ring_half_width: f32,
    pub light_radius: f32,
    pub light_offset: f32,
}

impl NodeGlyphUniform {
    pub fn new(theme: &Theme, ring_px: f32, world_per_px: f32) -> Self {
        let linear = |c: ThemeColor| c.bevy().to_linear();
        let mut colors = [LinearRgba::NONE; GLYPH_COLORS];
        for (slot, color) in colors.iter_mut().zip(theme.program_palette) {
            *slot = linear(color);
        }
        colors[ZOMBIE_BODY as usize] = linear(theme.state_zombie);
        colors[FIRST_LIGHT] = linear(theme.mailbox_idle);
        colors[FIRST_LIGHT + 1] = linear(theme.mailbox_pending);
        colors[FIRST_LIGHT + 2] = linear(theme.mailbox_ready);
        colors[FIRST_RING] = linear(theme.state_running);
        colors[FIRST_RING + 1] = linear(theme.state_blocked);
        colors[FIRST_RING + 2] = linear(theme.state_zombie);
        Self {
            colors,
            ring_width: theme.ring_width,
            ring_half_width: ring_px * world_per_px * 0.5,
            light_radius: theme.node_radius * LIGHT_RADIUS_OF_NODE,
            light_offset: LIGHT_OFFSET,
        }
    }

    /// The colour the shader paints for a body, light or ring slot.
    #[cfg(test)]
    pub fn body_color(&self, body: BodyColor) -> LinearRgba {
        match body {
            BodyColor::Program(i) => self.colors[i.min(ZOMBIE_BODY as usize - 1)],
            BodyColor::Zombie => self.colors[ZOMBIE_BODY as usize],
        }
    }

    #[cfg(test)]
    pub fn light_color(&self, light: u8) -> LinearRgba {
        self.colors[FIRST_LIGHT + usize::from(light.min(2))]
    }

    #[cfg(test)]
    pub fn ring_color(&self, ring: u8) -> LinearRgba {
        self.colors[FIRST_RING + usize::from(ring.min(2))]
    }
}

/// The one material every node shares.
#[derive(Asset, TypePath, AsBindGroup, Clone, Debug)]
pub struct NodeGlyphMaterial {
    #[uniform(0)]
    pub glyph: NodeGlyphUniform,
}

impl Material2d for NodeGlyphMaterial {
    fn vertex_shader() -> ShaderRef {
        shader_ref()
    }

    fn fragment_shader() -> ShaderRef {
        shader_ref()
    }

    fn alpha_mode(&self) -> AlphaMode2d {
        AlphaMode2d::Blend
    }

    fn specialize(
        descriptor: &mut RenderPipelineDescriptor,
        layout: &MeshVertexBufferLayoutRef,
        _key: Material2dKey<Self>,
    ) -> Result<(), SpecializedMeshPipelineError> {
        descriptor.vertex.buffers = vec![layout.0.get_layout(&[
            Mesh::ATTRIBUTE_POSITION.at_shader_location(0),
            Mesh::ATTRIBUTE_UV_0.at_shader_location(1),
            ATTRIBUTE_GLYPH_TAG.at_shader_location(2),
        ])?];
        Ok(())
    }
}

fn shader_ref() -> ShaderRef {
    ShaderRef::Path(
        AssetPath::from_path_buf(embedded_path!("node_glyph.wgsl")).with_source("embedded"),
    )
}

/// Registers the material, its shader and the nodes' one mesh. Needs the asset server (a renderer-less test app with
/// `AssetPlugin` gets the material's assets; one without gets nothing, and draws nothing).
pub fn add_node_glyph_material(app: &mut App) {
    app.init_resource::<NodeGlyphs>();
    if !app
        .world()
        .contains_resource::<bevy::asset::io::embedded::EmbeddedAssetRegistry>()
    {
        return;
    }
    embedded_asset!(app, "node_glyph.wgsl");
    if !app.is_plugin_added::<Material2dPlugin<NodeGlyphMaterial>>() {
        app.add_plugins(Material2dPlugin::<NodeGlyphMaterial>::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_carries_every_field_and_clamps_what_does_not_fit() {
        let state = GlyphState {
            disc_radius: 22.5,
            scale: 0.5,
            body: BodyColor::Program(7),
            light: 2,
            ring: 1,
        };
        let back = unpack_tag(pack_tag(&state));
        assert!((back.disc_radius - 22.5).abs() < 1.0 / 32.0, "{back:?}");
        assert!((back.scale - 0.5).abs() < 1.0 / 255.0, "{back:?}");
        assert_eq!(
            (back.body, back.light, back.ring),
            (BodyColor::Program(7), 2, 1)
        );
        let zombie = unpack_tag(pack_tag(&GlyphState {
            disc_radius: 1e9,
            scale: 7.0,
            body: BodyColor::Zombie,
            light: 9,
            ring: 9,
        }));
        assert_eq!(zombie.disc_radius, f32::from(u16::MAX) / 32.0);
        assert_eq!(zombie.scale, 1.0);
        assert_eq!(
            (zombie.body, zombie.light, zombie.ring),
            (BodyColor::Zombie, 2, 2)
        );
        // A program index past the palette never reads the zombie's slot.
        let far = unpack_tag(pack_tag(&GlyphState {
            body: BodyColor::Program(40),
            ..state
        }));
        assert_eq!(far.body, BodyColor::Program(9));
    }

    #[test]
    fn a_glyph_is_a_square_quad_of_four_corners_that_carry_the_tag_and_their_offset() {
        let mut batch = GlyphBatch::default();
        batch.push(7, Vec2::new(100.0, -50.0), 30.0, 0xDEAD_BEEF);
        batch.push(2, Vec2::ZERO, 10.0, 1);
        assert_eq!(batch.len(), 2);
        assert_eq!(
            batch.glyph(7),
            Some((Vec2::new(100.0, -50.0), 30.0, 0xDEAD_BEEF))
        );
        assert_eq!(batch.glyph(2), Some((Vec2::ZERO, 10.0, 1)));
        for i in 0..4 {
            let p = batch.positions[i];
            let o = batch.offsets[i];
            assert_eq!((p[0] - 100.0, p[1] + 50.0), (o[0], o[1]));
            assert_eq!(o[0].abs(), 30.0);
            assert_eq!(o[1].abs(), 30.0);
        }
        assert_eq!(&batch.indices[6..], &[4, 5, 6, 4, 6, 7]);
        let mesh = batch.to_mesh();
        assert_eq!(mesh.count_vertices(), 8);
        assert!(mesh.attribute(ATTRIBUTE_GLYPH_TAG).is_some());
        // No quad for a node of no size or nowhere.
        for (centre, half) in [
            (Vec2::ZERO, 0.0),
            (Vec2::ZERO, f32::NAN),
            (Vec2::new(f32::INFINITY, 0.0), 5.0),
        ] {
            batch.push(9, centre, half, 0);
        }
        assert_eq!(batch.len(), 2);
        batch.clear();
        assert!(batch.is_empty() && batch.glyph(7).is_none());
    }

    #[test]
    fn the_ring_band_spans_the_old_gizmo_circles_band_at_any_zoom() {
        // Zoom 1: from the disc's edge out to the theme's ring width.
        let (inner, outer) = ring_band(22.0, 4.0, 4.0, 1.0);
        assert_eq!((inner, outer), (22.0, 26.0));
        // Zoomed out four times: 1.5 pixels are 6 world units, around the same centre line.
        let (inner, outer) = ring_band(22.0, 4.0, 1.5, 4.0);
        assert_eq!((inner, outer), (21.0, 27.0));
        // Wider than the disc (far out, tiny disc): a full disc, never a negative radius.
        let (inner, outer) = ring_band(0.5, 0.0, 2.0, 10.0);
        assert_eq!((inner, outer), (0.0, 1.0));
    }

    #[test]
    fn the_quad_holds_the_ring_and_the_light() {
        let theme = Theme::default();
        let half = glyph_half_extent(22.0, 1.0, &theme, 4.0, 1.0);
        let light_far = std::f32::consts::SQRT_2 * LIGHT_OFFSET * 22.0
            + theme.node_radius * LIGHT_RADIUS_OF_NODE;
        assert!(half >= light_far + 2.0 - 1e-4, "{half} {light_far}");
        let (_, outer) = ring_band(22.0, theme.ring_width, 4.0, 1.0);
        assert!(half >= outer + 2.0 - 1e-4);
    }

    #[test]
    fn the_uniform_holds_the_themes_colours_in_linear_space() {
        for theme in [Theme::default(), Theme::projector()] {
            let u = NodeGlyphUniform::new(&theme, 4.0, 2.0);
            assert_eq!(
                u.body_color(BodyColor::Program(3)),
                theme.program_palette[3].bevy().to_linear()
            );
            assert_eq!(
                u.body_color(BodyColor::Zombie),
                theme.state_zombie.bevy().to_linear()
            );
            assert_eq!(u.light_color(1), theme.mailbox_pending.bevy().to_linear());
            assert_eq!(u.ring_color(1), theme.state_blocked.bevy().to_linear());
            assert_eq!(u.ring_half_width, 4.0);
        }
    }
}
