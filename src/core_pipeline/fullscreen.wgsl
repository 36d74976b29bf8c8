// The vertex stage every full-screen pass of Bevy's core pipeline shares (tonemapping, upscaling,
// blit): one triangle, drawn with vertex indices 0, 1, 2, that covers the whole viewport.
// Registered by src/core_pipeline/mod.rs under the asset path and import path Bevy's own passes
// expect, in place of `CorePipelinePlugin`'s copy (see there for why).
#define_import_path bevy_core_pipeline::fullscreen_vertex_shader

struct FullscreenVertexOutput {
    @builtin(position)
    position: vec4<f32>,
    @location(0)
    uv: vec2<f32>,
};

// Index 0 lands on the viewport's top-left corner (clip (-1, 1), uv (0, 0)), 1 at clip (-1, -3)
// (uv (0, 2)), 2 at clip (3, 1) (uv (2, 0)): the viewport is the triangle's top-left quarter, so
// uv runs from (0, 0) at the top-left to (1, 1) at the bottom-right, texture space's direction.
@vertex
fn fullscreen_vertex_shader(@builtin(vertex_index) vertex_index: u32) -> FullscreenVertexOutput {
    let uv = 2.0 * vec2<f32>(f32(vertex_index / 2u), f32(vertex_index % 2u));
    let clip = vec2<f32>(2.0 * uv.x - 1.0, 1.0 - 2.0 * uv.y);
    return FullscreenVertexOutput(vec4<f32>(clip, 0.0, 1.0), uv);
}
