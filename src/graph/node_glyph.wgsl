// One process node on one quad: the disc in its program's colour, the mailbox light on its upper
// right, the state ring around it. Every node's quad is in one mesh; everything per node is in its
// vertices (the corner's offset from the centre and the tag: see node_glyph.rs, `pack_tag`);
// colours and the zoom-dependent widths are in the one shared material.

#import bevy_sprite::{
    mesh2d_functions as mesh_functions,
    mesh2d_view_bindings::view,
}

#ifdef TONEMAP_IN_SHADER
#import bevy_core_pipeline::tonemapping
#endif
#ifdef SRGB_OUTPUT
#import bevy_render::color_operations::linear_to_srgb
#endif
#ifdef OKLAB_OUTPUT
#import bevy_render::color_operations::linear_rgb_to_oklab
#endif

const COLORS: u32 = 17u;
const ZOMBIE_BODY: u32 = 10u;
const FIRST_LIGHT: u32 = 11u;
const FIRST_RING: u32 = 14u;

struct NodeGlyphUniform {
    colors: array<vec4<f32>, COLORS>,
    // World units: the theme's ring width, half the ring's drawn width at this zoom, the light's
    // radius at full size.
    ring_width: f32,
    ring_half_width: f32,
    light_radius: f32,
    light_offset: f32,
};

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> glyph: NodeGlyphUniform;

struct Vertex {
    @builtin(instance_index) instance_index: u32,
    // World units (the mesh's entity sits at the origin, at the nodes' depth).
    @location(0) position: vec3<f32>,
    // World units from the node's centre.
    @location(1) offset: vec2<f32>,
    @location(2) tag: u32,
};

struct GlyphVarying {
    @builtin(position) position: vec4<f32>,
    // World units from the node's centre.
    @location(0) offset: vec2<f32>,
    @location(1) @interpolate(flat) tag: u32,
};

@vertex
fn vertex(vertex: Vertex) -> GlyphVarying {
    var out: GlyphVarying;
    let world_from_local = mesh_functions::get_world_from_local(vertex.instance_index);
    let world = mesh_functions::mesh2d_position_local_to_world(
        world_from_local,
        vec4<f32>(vertex.position, 1.0),
    );
    out.position = mesh_functions::mesh2d_position_world_to_clip(world);
    out.offset = vertex.offset;
    out.tag = vertex.tag;
    return out;
}

// `top` with coverage `cover` over `under` (straight alpha).
fn over(under: vec4<f32>, top: vec4<f32>, cover: f32) -> vec4<f32> {
    let a = top.a * cover;
    let out_a = a + under.a * (1.0 - a);
    if out_a <= 0.0 {
        return vec4<f32>(0.0);
    }
    let rgb = (top.rgb * a + under.rgb * under.a * (1.0 - a)) / out_a;
    return vec4<f32>(rgb, out_a);
}

// How much of a pixel `inside` (world units inside the edge) covers, a pixel being `px` wide.
fn coverage(inside: f32, px: f32) -> f32 {
    return clamp(inside / px + 0.5, 0.0, 1.0);
}

@fragment
fn fragment(in: GlyphVarying) -> @location(0) vec4<f32> {
    let disc = f32(in.tag & 0xFFFFu) / 32.0;
    let scale = f32((in.tag >> 16u) & 0xFFu) / 255.0;
    let body = min((in.tag >> 24u) & 0xFu, ZOMBIE_BODY);
    let light = FIRST_LIGHT + min((in.tag >> 28u) & 0x3u, 2u);
    let ring = FIRST_RING + min((in.tag >> 30u) & 0x3u, 2u);

    let px = max(length(vec2<f32>(dpdx(in.offset.x), dpdy(in.offset.x))), 1e-4);
    let d = length(in.offset);

    var color = over(vec4<f32>(0.0), glyph.colors[body], coverage(disc - d, px));
    let light_d = length(in.offset - vec2<f32>(glyph.light_offset * disc));
    color = over(color, glyph.colors[light], coverage(glyph.light_radius * scale - light_d, px));
    let centre = disc + glyph.ring_width * 0.5;
    let half_width = min(glyph.ring_half_width, centre);
    let inner = centre - half_width;
    var band = centre + half_width - d;
    if inner > 0.0 {
        band = min(band, d - inner);
    }
    color = over(color, glyph.colors[ring], coverage(band, px));
    if color.a <= 0.0 {
        discard;
    }

#ifdef TONEMAP_IN_SHADER
    color = tonemapping::tone_mapping(color, view.color_grading);
#endif
#ifdef SRGB_OUTPUT
    color = vec4<f32>(linear_to_srgb(color.rgb), color.a);
#endif
#ifdef OKLAB_OUTPUT
    color = vec4<f32>(linear_rgb_to_oklab(color.rgb), color.a);
#endif
    return color;
}
