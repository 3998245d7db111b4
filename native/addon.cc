#include "flare.h"
#include "autograd.h"

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  flare::initCpuCache(env, exports);  // first: every tensor after it comes from the cache
  flare::initTensor(env, exports);
  flare::initOps(env, exports);
  flare::initDistributed(env, exports);
  flare::initKernels(env, exports);
  flare::initAutograd(env, exports);
  flare::initRoiAlign(env, exports);
  flare::initRoiPool(env, exports);
  flare::initNms(env, exports);
  flare::initJpeg(env, exports);
  flare::initGenerator(env, exports);
  return exports;
}

NODE_API_MODULE(flare, init)
