// What the map can show: its views (which two columns are x and y) and its colourings (which column colours the
// points). Both map renderers and the header's selects read these.

export const VIEWS = {
  label: { name: "VA labels", x: "label_v", y: "label_a", va: true },
  head: { name: "VA read by the model", x: "head_v", y: "head_a", va: true },
  tsne_v: { name: "t-SNE of z_v", x: "tsne_v_x", y: "tsne_v_y" },
  tsne_a: { name: "t-SNE of z_a", x: "tsne_a_x", y: "tsne_a_y" },
  tsne_z: { name: "t-SNE of z_z", x: "tsne_z_x", y: "tsne_z_y" },
  pca_v: { name: "PCA of z_v", x: "pca_v_x", y: "pca_v_y" },
  pca_a: { name: "PCA of z_a", x: "pca_a_x", y: "pca_a_y" },
  pca_z: { name: "PCA of z_z", x: "pca_z_x", y: "pca_z_y" },
};

/** column: the value in [-1, 1] that picks a point's colour on the VA ramp; none: by emotion category. */
export const COLOURINGS = {
  emotion: { name: "emotion" },
  label_v: { name: "valence (label)", column: "label_v" },
  label_a: { name: "arousal (label)", column: "label_a" },
  head_v: { name: "valence (model)", column: "head_v" },
  head_a: { name: "arousal (model)", column: "head_a" },
};
