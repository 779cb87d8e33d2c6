// The map's points in WebGL 1: one draw call of gl.POINTS over the run's typed-array columns (x and y float32, the
// emotion code uint8), so 400,000 points cost no JavaScript per point to draw. Pan and zoom
// change four uniforms; colour by valence or arousal uploads one byte a point; hiding an emotion or selecting points
// touches a lookup texture or one byte a point. It runs on software WebGL (SwiftShader) too, but slowly there (about
// 250 ms a frame for 400,000 points on two cores): the map draws with splat.js then.

const VERTEX = `
attribute vec2 xy;
attribute vec3 cvp;         // the emotion code, the value byte (0..255 along the ramp), 1 if selected
uniform vec4 u_xf;          // clip = data * u_xf.xy + u_xf.zw
uniform float u_size, u_selecting;
varying float v_code, v_value, v_dim;
void main() {
  gl_Position = vec4(xy * u_xf.xy + u_xf.zw, 0.0, 1.0);
  gl_PointSize = u_size;
  v_code = cvp.x;
  v_value = cvp.y;
  v_dim = u_selecting * (1.0 - cvp.z);
}`;

const FRAGMENT = `
precision mediump float;
uniform sampler2D u_palette, u_ramp;  // 256 x 1 RGBA: by emotion code (alpha 0 hides it), by value byte
uniform float u_by_value, u_opacity, u_round;
varying float v_code, v_value, v_dim;
void main() {
  vec4 e = texture2D(u_palette, vec2((v_code + 0.5) / 256.0, 0.5));
  if (e.a < 0.5) discard;
  if (u_round > 0.5 && length(gl_PointCoord - 0.5) > 0.5) discard;
  vec3 rgb = u_by_value > 0.5 ? texture2D(u_ramp, vec2((v_value + 0.5) / 256.0, 0.5)).rgb : e.rgb;
  gl_FragColor = vec4(rgb, u_opacity * (1.0 - 0.82 * v_dim));
}`;

function compile(gl, type, src) {
  const s = gl.createShader(type);
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`map shader: ${gl.getShaderInfoLog(s)}`);
  return s;
}

/** A WebGL context for the map's canvas, or null where the browser has none. */
export function webglContext(canvas) {
  try {
    return canvas.getContext("webgl", { antialias: false, alpha: true, premultipliedAlpha: true, depth: false });
  } catch {
    return null;
  }
}

/** Is this context drawn by software (no GPU)? There the CPU drawer (splat.js) is faster. */
export function softwareWebgl(gl) {
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  return /swiftshader|llvmpipe|softpipe|software|basic render/i.test(name);
}

export class PointLayer {
  constructor(canvas, gl) {
    this.canvas = canvas;
    this.gl = gl;
    this.n = 0;
    const p = (this.prog = gl.createProgram());
    gl.attachShader(p, compile(gl, gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(p, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(`map shader: ${gl.getProgramInfoLog(p)}`);
    this.attr = { xy: gl.getAttribLocation(p, "xy"), cvp: gl.getAttribLocation(p, "cvp") };
    this.uni = Object.fromEntries(["u_xf", "u_size", "u_selecting", "u_palette", "u_ramp", "u_by_value", "u_opacity",
                                   "u_round"].map((k) => [k, gl.getUniformLocation(p, k)]));
    this.buf = Object.fromEntries(Object.keys(this.attr).map((k) => [k, gl.createBuffer()]));
    this.tex = { palette: this.texture(), ramp: this.texture() };
    this.byValue = false;
    this.selecting = false;
  }

  texture() {
    const gl = this.gl, t = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, t);
    for (const k of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_2D, k, gl.NEAREST);
    for (const k of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T]) gl.texParameteri(gl.TEXTURE_2D, k, gl.CLAMP_TO_EDGE);
    return t;
  }

  upload(name, array) {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buf[name]);
    gl.bufferData(gl.ARRAY_BUFFER, array, gl.STATIC_DRAW);
  }

  /**
   * The points: xs, ys Float32Array; codes Uint8Array (emotion codes, the palette's index). Interleaved into two
   * buffers (x y, and code value picked) because software WebGL pays per attribute fetched, per point.
   */
  setPoints(xs, ys, codes) {
    const n = (this.n = xs.length), xy = new Float32Array(2 * n), bytes = (this.bytes = new Uint8Array(4 * n));
    for (let i = 0; i < n; i++) {
      xy[2 * i] = xs[i];
      xy[2 * i + 1] = ys[i];
      bytes[4 * i] = codes[i];
    }
    this.upload("xy", xy);
    this.upload("cvp", bytes);
    this.byValue = false;
    this.selecting = false;
  }

  /** Colour by a value byte a point (0..255 along the ramp), or by emotion again (null). */
  setValues(values) {
    this.byValue = !!values;
    if (!values) return;
    const b = this.bytes;
    for (let i = 0; i < this.n; i++) b[4 * i + 1] = values[i];
    this.upload("cvp", b);
  }

  /** The selected points (Uint8Array, 1 = selected) drawn full, the rest faded; null: no selection. */
  setPicked(mask) {
    this.selecting = !!mask;
    const b = this.bytes;
    for (let i = 0; i < this.n; i++) b[4 * i + 2] = mask ? mask[i] : 0;
    this.upload("cvp", b);
  }

  /** rgba: Uint8Array(256 * 4), one colour per emotion code (alpha 0: that emotion is hidden). */
  setPalette(rgba) {
    this.setTexture(this.tex.palette, rgba);
  }

  setRamp(rgba) {
    this.setTexture(this.tex.ramp, rgba);
  }

  setTexture(t, rgba) {
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, 256, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, rgba);
  }

  /** Draw every point. xf: [sx, sy, tx, ty] from data to clip space; size in device pixels (the frame: unused). */
  draw(xf, size, opacity) {
    const gl = this.gl, c = this.canvas;
    gl.viewport(0, 0, c.width, c.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!this.n) return;
    gl.useProgram(this.prog);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buf.xy);
    gl.enableVertexAttribArray(this.attr.xy);
    gl.vertexAttribPointer(this.attr.xy, 2, gl.FLOAT, false, 0, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buf.cvp);
    gl.enableVertexAttribArray(this.attr.cvp);
    gl.vertexAttribPointer(this.attr.cvp, 3, gl.UNSIGNED_BYTE, false, 4, 0);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.tex.palette);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.tex.ramp);
    const u = this.uni;
    gl.uniform1i(u.u_palette, 0);
    gl.uniform1i(u.u_ramp, 1);
    gl.uniform4f(u.u_xf, ...xf);
    gl.uniform1f(u.u_size, size);
    gl.uniform1f(u.u_round, size >= 3 ? 1 : 0);
    gl.uniform1f(u.u_opacity, opacity);
    gl.uniform1f(u.u_by_value, this.byValue ? 1 : 0);
    gl.uniform1f(u.u_selecting, this.selecting ? 1 : 0);
    gl.enable(gl.BLEND);
    gl.blendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.drawArrays(gl.POINTS, 0, this.n);
  }
}
