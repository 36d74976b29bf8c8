//! Bevy's core render pipeline without its mipmap generator: what `CorePipelinePlugin` adds,
//! less `MipGenerationPlugin`. The binary's `DefaultPlugins` use this plugin in
//! `CorePipelinePlugin`'s place.
//!
//! **Why.** `MipGenerationPlugin::build` makes 40 copies of a 23 KB downsampling shader, one
//! per texture format, and runs each through naga_oil's preprocessor on the main thread: the
//! largest single cost of the app's start (250 ms of a names-keeping release build's 480 ms
//! plugin building in the browser's profiler; docs/BENCHMARKS.md). It serves mipmaps and the
//! depth pyramid of 3D views; nothing here asks for either (no image requests mipmaps, the
//! cameras are 2D). `CorePipelinePlugin` adds it unconditionally, so this plugin adds the rest.
//!
//! **What it keeps** (`bevy_core_pipeline` 0.19.1's `CorePipelinePlugin`, everything but the mip
//! generator): the 2D and 3D cores, blit, tonemapping, upscaling, order-independent
//! transparency, deferred lighting ids and background motion vectors, the shared full-screen
//! vertex shader, and the root render graph: the camera driver, then submitting the command
//! buffers the passes queued. Two things are written here because Bevy keeps the system private
//! and registers the shader only inside `CorePipelinePlugin::build`:
//! - `submit_pending_command_buffers` does what Bevy's system of that name does;
//! - the full-screen vertex shader (`fullscreen.wgsl`) is registered under the asset path and
//!   import path Bevy's passes load it by.
//!
//! **Left out:** Bevy's `handle_uncovered_swap_chains`, which clears a window no camera draws
//! to. The app's one window always has its camera (`src/graph/camera.rs` spawns it at start-up).
//!
//! Bumping Bevy means reading its `CorePipelinePlugin::build` again: a plugin added there and
//! not here is a missing pass (the drawing tests and the desktop window would show it).
use std::path::{Path, PathBuf};

use bevy::app::{App, Plugin};
use bevy::asset::io::embedded::EmbeddedAssetRegistry;
use bevy::core_pipeline::{
    FullscreenShader, blit::BlitPlugin, core_2d::Core2dPlugin, core_3d::Core3dPlugin,
    deferred::copy_lighting_id::CopyDeferredLightingIdPlugin,
    oit::OrderIndependentTransparencyPlugin, prepass::BackgroundMotionVectorsPlugin,
    schedule::camera_driver, tonemapping::TonemappingPlugin, upscaling::UpscalingPlugin,
};
use bevy::ecs::schedule::IntoScheduleConfigs;
use bevy::ecs::world::World;
use bevy::render::RenderApp;
use bevy::render::renderer::{PendingCommandBuffers, RenderGraph, RenderGraphSystems, RenderQueue};

/// The asset path Bevy's `FullscreenShader` loads its vertex shader from (`embedded://` source).
pub const FULLSCREEN_SHADER_PATH: &str =
    "bevy_core_pipeline/fullscreen_vertex_shader/fullscreen.wgsl";

/// The full-screen triangle's vertex stage (tonemapping, upscaling and blit import it).
pub const FULLSCREEN_SHADER: &str = include_str!("fullscreen.wgsl");

/// `CorePipelinePlugin` less `MipGenerationPlugin` (see the module's docs).
pub struct CorePipelineWithoutMipsPlugin;

impl Plugin for CorePipelineWithoutMipsPlugin {
    fn build(&self, app: &mut App) {
        app.world_mut()
            .resource_mut::<EmbeddedAssetRegistry>()
            .insert_asset(
                PathBuf::new(),
                Path::new(FULLSCREEN_SHADER_PATH),
                FULLSCREEN_SHADER.as_bytes(),
            );
        app.add_plugins((Core2dPlugin, Core3dPlugin, CopyDeferredLightingIdPlugin))
            .add_plugins((
                BlitPlugin,
                TonemappingPlugin,
                UpscalingPlugin,
                OrderIndependentTransparencyPlugin,
                BackgroundMotionVectorsPlugin,
            ));
        let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
            return;
        };
        render_app.init_resource::<FullscreenShader>().add_systems(
            RenderGraph,
            (
                camera_driver.in_set(RenderGraphSystems::Render),
                submit_pending_command_buffers.in_set(RenderGraphSystems::Submit),
            ),
        );
    }
}

/// Hands the command buffers the render passes queued to the GPU queue, once a frame.
fn submit_pending_command_buffers(world: &mut World) {
    let buffers = world.resource_mut::<PendingCommandBuffers>().take();
    if !buffers.is_empty() {
        world.resource::<RenderQueue>().submit(buffers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::ecs::world::FromWorld;
    use naga_oil::compose::{
        ComposableModuleDescriptor, Composer, NagaModuleDescriptor, ShaderLanguage, ShaderType,
    };

    /// The shader on its own, as Bevy's passes use it for their vertex stage: it composes, it
    /// validates, and its one entry point is the vertex function they name.
    #[test]
    fn the_fullscreen_shader_is_a_vertex_stage_by_the_name_bevy_uses() {
        let module = Composer::default()
            .make_naga_module(NagaModuleDescriptor {
                source: FULLSCREEN_SHADER,
                file_path: FULLSCREEN_SHADER_PATH,
                shader_type: ShaderType::Wgsl,
                ..Default::default()
            })
            .expect("the full-screen shader composes and validates");
        let names: Vec<_> = module
            .entry_points
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["fullscreen_vertex_shader"]);
        assert_eq!(
            module.entry_points[0].stage,
            bevy::render::render_resource::ShaderStage::Vertex
        );
    }

    /// Bevy's full-screen passes (tonemapping, blit, upscaling) import the output struct by this
    /// path; a fragment stage written the way they are composes against it.
    #[test]
    fn a_pass_importing_the_output_struct_composes() {
        let mut composer = Composer::default();
        composer
            .add_composable_module(ComposableModuleDescriptor {
                source: FULLSCREEN_SHADER,
                file_path: FULLSCREEN_SHADER_PATH,
                language: ShaderLanguage::Wgsl,
                ..Default::default()
            })
            .expect("the full-screen shader is a composable module");
        let pass = "#import bevy_core_pipeline::fullscreen_vertex_shader::FullscreenVertexOutput\n\
            @group(0) @binding(0) var in_texture: texture_2d<f32>;\n\
            @group(0) @binding(1) var in_sampler: sampler;\n\
            @fragment\n\
            fn fs_main(in: FullscreenVertexOutput) -> @location(0) vec4<f32> {\n\
                return textureSample(in_texture, in_sampler, in.uv) + in.position * 0.0;\n\
            }\n";
        let module = composer
            .make_naga_module(NagaModuleDescriptor {
                source: pass,
                file_path: "pass.wgsl",
                shader_type: ShaderType::Wgsl,
                ..Default::default()
            })
            .expect("a pass importing FullscreenVertexOutput composes and validates");
        assert_eq!(module.entry_points.len(), 1);
    }

    /// Bevy's `FullscreenShader` asks the asset server for the path this plugin registers.
    #[test]
    fn bevy_loads_the_fullscreen_shader_from_the_path_registered() {
        use bevy::asset::{AssetApp, AssetPlugin};
        use bevy::prelude::{MinimalPlugins, Shader};
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default()))
            .init_asset::<Shader>();
        let shader = FullscreenShader::from_world(app.world_mut()).shader();
        let path = shader.path().expect("the shader handle has a path");
        assert_eq!(path.source().as_str(), Some("embedded"));
        assert_eq!(path.path(), Path::new(FULLSCREEN_SHADER_PATH));
    }
}
