//! A kind of canvas shape drawn as the triangles of one mesh entity: the systems that draw put
//! this frame's shapes into [`OneMesh::frame`], and [`OneMesh::flush`] writes the mesh only when
//! they differ from what it shows (so a still graph uploads nothing), hides it when there are none,
//! and starts the next frame empty.
//!
//! Why one mesh: SwiftShader, the software renderer of a laptop without a GPU, runs an instanced
//! draw instance by instance, so many small instances (gizmo segments, one mesh per node) cost far
//! more than the same triangles in one instance. The graph's lines ([`super::lines`]) and its
//! nodes ([`super::node_glyph`]) are each one of these.

use bevy::camera::visibility::NoFrustumCulling;
use bevy::prelude::*;
use bevy::sprite_render::Material2d;

/// A frame's worth of one kind of shape.
pub trait ShapeBatch: Default + PartialEq + Send + Sync + 'static {
    fn is_empty(&self) -> bool;
    fn clear(&mut self);
    /// The mesh that draws the batch.
    fn to_mesh(&self) -> Mesh;
}

/// This frame's shapes and the one entity that draws the last ones written.
#[derive(Resource, Default)]
pub struct OneMesh<B: ShapeBatch> {
    /// What the systems draw this frame.
    pub frame: B,
    /// What the mesh holds.
    shown: B,
    entity: Option<Entity>,
    mesh: Option<Handle<Mesh>>,
}

impl<B: ShapeBatch> OneMesh<B> {
    /// The shapes the mesh holds now.
    #[cfg(test)]
    pub fn shown(&self) -> &B {
        &self.shown
    }

    /// The entity that draws them, once spawned.
    #[cfg(test)]
    pub fn entity(&self) -> Option<Entity> {
        self.entity
    }

    /// Writes this frame's shapes into the mesh if they changed (spawning its entity at `z` with
    /// `material` the first time), shows or hides it, and starts the next frame empty.
    pub fn flush<M: Material2d>(
        &mut self,
        commands: &mut Commands,
        meshes: &mut Assets<Mesh>,
        visibility: &mut Query<&mut Visibility>,
        z: f32,
        material: impl FnOnce() -> Handle<M>,
    ) {
        if self.frame != self.shown {
            if !self.frame.is_empty() {
                let mesh = self.frame.to_mesh();
                match &self.mesh {
                    Some(handle) => {
                        if let Some(mut existing) = meshes.get_mut(handle) {
                            *existing = mesh;
                        }
                    }
                    None => {
                        let handle = meshes.add(mesh);
                        let entity = commands
                            .spawn((
                                Mesh2d(handle.clone()),
                                MeshMaterial2d(material()),
                                Transform::from_xyz(0.0, 0.0, z),
                                NoFrustumCulling,
                                Visibility::Inherited,
                            ))
                            .id();
                        self.mesh = Some(handle);
                        self.entity = Some(entity);
                    }
                }
            }
            std::mem::swap(&mut self.frame, &mut self.shown);
            let wanted = if self.shown.is_empty() {
                Visibility::Hidden
            } else {
                Visibility::Inherited
            };
            if let Some(mut v) = self.entity.and_then(|e| visibility.get_mut(e).ok())
                && *v != wanted
            {
                *v = wanted;
            }
        }
        self.frame.clear();
    }
}
