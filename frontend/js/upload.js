// Upload: file picker and drag-and-drop (on the drop zone or anywhere on the page); hands one image file on.

const MAX_MB = 16;

export function bindUpload(zone, input, onFile, onReject) {
  const take = (files) => {
    const file = files && files[0];
    if (!file) return;
    if (file.size > MAX_MB * 1024 * 1024) {
      onReject(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; images up to ${MAX_MB} MB are accepted`);
      return;
    }
    onFile(file);
  };
  input.addEventListener("change", () => { take(input.files); input.value = ""; });
  const over = (e) => { e.preventDefault(); zone.classList.add("over"); };
  const leave = () => zone.classList.remove("over");
  for (const target of [zone, document.body]) {
    target.addEventListener("dragover", over);
    target.addEventListener("dragleave", leave);
    target.addEventListener("drop", (e) => {
      e.preventDefault();
      e.stopPropagation();
      leave();
      take(e.dataTransfer && e.dataTransfer.files);
    });
  }
}

/** The square the model saw, cut from the upload (box in the EXIF-rotated image's pixels) -> object URL of a PNG. */
export async function cropUrl(file, box) {
  const bmp = await createImageBitmap(file, { imageOrientation: "from-image" });
  const c = Object.assign(document.createElement("canvas"), { width: 128, height: 128 });
  c.getContext("2d").drawImage(bmp, box.x, box.y, box.width, box.height, 0, 0, 128, 128);
  const blob = await new Promise((res) => c.toBlob(res, "image/png"));
  return URL.createObjectURL(blob);
}
