// Where a Connection's hiredis replies are built: hiredis's reader calls our
// create functions instead of malloc'ing every string and array of a reply,
// and the memory is reused once no reply of the connection is alive. An
// XREADGROUP of 100 entries was ~1,700 mallocs and frees; now it is none in
// the steady state. One connection, one thread. Private to lib/bus.
#pragma once

#include <hiredis/hiredis.h>

#include <cstddef>
#include <memory>
#include <vector>

namespace nautilus::redis {

class ReplyArena {
 public:
  ReplyArena() = default;
  ReplyArena(const ReplyArena&) = delete;
  ReplyArena& operator=(const ReplyArena&) = delete;

  // Makes `ctx`'s reader build replies here while this arena is the calling
  // thread's current one (see Scope).
  static void install(redisContext* ctx);

  // The arena the reader functions allocate from, for the duration of one
  // redisGetReply on this thread.
  class Scope {
   public:
    explicit Scope(ReplyArena& arena);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    ReplyArena* previous_;
  };

  void* allocate(std::size_t bytes);  // 16-byte aligned, never null
  void hold() { ++live_; }            // a reply was handed out
  void release();                     // its ReplyPtr died; the last one resets

 private:
  struct Block {
    std::unique_ptr<std::byte[]> data;
    std::size_t size = 0;
  };
  std::vector<Block> blocks_;
  std::size_t block_ = 0;  // the block being filled
  std::size_t used_ = 0;   // bytes used in it
  int live_ = 0;
};

}  // namespace nautilus::redis
