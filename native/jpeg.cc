// decodeJpeg(bytes, mode): a plain JPEG straight into a uint8 C×H×W tensor with
// libjpeg-turbo, the decoder sharp's libvips and PIL both run, without libvips'
// pipeline around it (a 500×375 JPEG: 0.6 ms here, 2.7 ms of CPU through sharp).
// "Plain" is what decodes to the same bytes as sharp's path in io.ts: 8-bit
// grey, YCbCr or RGB, no EXIF orientation to apply, no ICC profile to convert
// from. Anything else, a corrupt stream, and anything libjpeg warns about
// returns undefined and io.ts decodes it with sharp, which says what is wrong.
#include "flare.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>

namespace flare {

namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
};

[[noreturn]] void onError(j_common_ptr cinfo) { std::longjmp(reinterpret_cast<ErrorManager*>(cinfo->err)->jump, 1); }

// sharp decodes with failOn: "warning": a warning (a truncated stream, a bad marker) is a failure here too.
void onMessage(j_common_ptr cinfo, int level) {
  if (level < 0) std::longjmp(reinterpret_cast<ErrorManager*>(cinfo->err)->jump, 1);
}

uint32_t read16(const uint8_t* p, bool big) { return big ? (p[0] << 8 | p[1]) : (p[1] << 8 | p[0]); }
uint32_t read32(const uint8_t* p, bool big) {
  return big ? (uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]) : (uint32_t(p[3]) << 24 | p[2] << 16 | p[1] << 8 | p[0]);
}

// The EXIF orientation in an APP1 segment: 1 when absent; 0 when the segment cannot be read.
int exifOrientation(const uint8_t* data, size_t length) {
  if (length < 14 || std::memcmp(data, "Exif\0\0", 6) != 0) return 1;
  const uint8_t* tiff = data + 6;
  const size_t size = length - 6;
  const bool big = tiff[0] == 'M' && tiff[1] == 'M';
  if (!big && !(tiff[0] == 'I' && tiff[1] == 'I')) return 0;
  const uint32_t ifd = read32(tiff + 4, big);
  if (ifd > size || size - ifd < 2) return 0;
  const uint32_t entries = read16(tiff + ifd, big);
  for (uint32_t k = 0; k < entries; k++) {
    const size_t at = ifd + 2 + size_t(k) * 12;
    if (at + 12 > size) return 0;
    if (read16(tiff + at, big) == 0x0112) return static_cast<int>(read16(tiff + at + 8, big));
  }
  return 1;
}

// Whether the saved markers leave the decoded pixels as they are (no orientation, no colour profile).
bool plainMarkers(jpeg_decompress_struct& cinfo) {
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m != nullptr; m = m->next) {
    if (m->marker == JPEG_APP0 + 2 && m->data_length >= 12 && std::memcmp(m->data, "ICC_PROFILE\0", 12) == 0) return false;
    if (m->marker == JPEG_APP0 + 1 && exifOrientation(m->data, m->data_length) != 1) return false;
  }
  return true;
}

enum class Outcome { kDecoded, kNotPlain };

// Everything libjpeg touches, kept free of C++ objects with destructors: onError longjmps out of it.
Outcome decodeInto(const uint8_t* bytes, size_t length, int wantChannels, at::Tensor* out) {
  jpeg_decompress_struct cinfo;
  ErrorManager errors;
  cinfo.err = jpeg_std_error(&errors.pub);
  errors.pub.error_exit = onError;
  errors.pub.emit_message = onMessage;
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return Outcome::kNotPlain;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes, static_cast<unsigned long>(length));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xFFFF);
  jpeg_read_header(&cinfo, TRUE);
  const bool grey = cinfo.jpeg_color_space == JCS_GRAYSCALE && cinfo.num_components == 1;
  const bool colour = (cinfo.jpeg_color_space == JCS_YCbCr || cinfo.jpeg_color_space == JCS_RGB) && cinfo.num_components == 3;
  // sharp's limitInputPixels (268,402,689): larger images go to sharp, which refuses them by name.
  const uint64_t pixels = uint64_t(cinfo.image_width) * cinfo.image_height;
  // wantChannels 0: the file's own (1 grey, 3 colour); 1: grey files only; 3: RGB (grey replicated).
  if (!(grey || colour) || !plainMarkers(cinfo) || pixels == 0 || pixels > 268402689ull || (wantChannels == 1 && !grey)) {
    jpeg_destroy_decompress(&cinfo);
    return Outcome::kNotPlain;
  }
  const int channels = wantChannels == 0 ? (grey ? 1 : 3) : wantChannels;
  cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const int64_t h = cinfo.output_height, w = cinfo.output_width;
  try {
    *out = at::empty({channels, h, w}, at::kByte);
  } catch (...) {
    jpeg_destroy_decompress(&cinfo);
    throw;  // out of memory: guarded() makes it a FlareError
  }
  uint8_t* planes = out->data_ptr<uint8_t>();
  const int64_t plane = h * w;
  // One interleaved row from libjpeg's own pool: freed with cinfo, and a failure longjmps like any other.
  JSAMPROW row = (*cinfo.mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(&cinfo), JPOOL_IMAGE, static_cast<JDIMENSION>(w * channels), 1)[0];
  while (cinfo.output_scanline < cinfo.output_height) {
    const int64_t y = cinfo.output_scanline;
    if (channels == 1) {
      JSAMPROW target = planes + y * w;  // grey rows are the plane's rows
      jpeg_read_scanlines(&cinfo, &target, 1);
      continue;
    }
    jpeg_read_scanlines(&cinfo, &row, 1);
    uint8_t *r = planes + y * w, *g = r + plane, *b = g + plane;
    for (int64_t x = 0; x < w; x++) {
      r[x] = row[3 * x];
      g[x] = row[3 * x + 1];
      b[x] = row[3 * x + 2];
    }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return Outcome::kDecoded;
}

// decodeJpeg(bytes: Uint8Array, channels: 0 | 1 | 3): a tensor handle, or undefined when sharp must decode it.
Napi::Value decodeJpeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsTypedArray() || !info[1].IsNumber())
    throwFlare(env, "E_ARGUMENT", "decodeJpeg: expected (bytes: Uint8Array, channels: 0 | 1 | 3)");
  auto array = info[0].As<Napi::TypedArray>();
  if (array.TypedArrayType() != napi_uint8_array) throwFlare(env, "E_ARGUMENT", "decodeJpeg: bytes must be a Uint8Array");
  const int channels = info[1].As<Napi::Number>().Int32Value();
  if (channels != 0 && channels != 1 && channels != 3) throwFlare(env, "E_ARGUMENT", "decodeJpeg: channels must be 0, 1 or 3");
  const uint8_t* bytes = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  const size_t length = array.ByteLength();
  if (length < 3 || bytes[0] != 0xFF || bytes[1] != 0xD8 || bytes[2] != 0xFF) return env.Undefined();
  at::Tensor out;
  return guarded(env, [&]() -> Napi::Value {
    if (decodeInto(bytes, length, channels, &out) != Outcome::kDecoded) return env.Undefined();
    return wrapTensor(env, out);
  });
}

}  // namespace

void initJpeg(Napi::Env env, Napi::Object exports) {
  exportFunction(env, exports, "decodeJpeg", decodeJpeg);
  exports.Set("jpegLibVersion", Napi::Number::New(env, JPEG_LIB_VERSION));
}

}  // namespace flare
