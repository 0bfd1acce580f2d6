#include "bus/redis_reply_arena.h"

#include <cassert>
#include <cstring>

namespace nautilus::redis {
namespace {

constexpr std::size_t kBlockBytes = 64 * 1024;
constexpr std::size_t kAlign = 16;

thread_local ReplyArena* t_current = nullptr;

redisReply* new_reply(int type) {
  assert(t_current && "a reply parsed outside ReplyArena::Scope");
  auto* r = static_cast<redisReply*>(t_current->allocate(sizeof(redisReply)));
  std::memset(r, 0, sizeof(redisReply));
  r->type = type;
  return r;
}

void attach(const redisReadTask* task, redisReply* r) {
  if (task->parent == nullptr) return;
  auto* parent = static_cast<redisReply*>(task->parent->obj);
  assert(parent->type == REDIS_REPLY_ARRAY && static_cast<std::size_t>(task->idx) < parent->elements);
  parent->element[task->idx] = r;
}

void* create_string(const redisReadTask* task, char* str, size_t len) {
  redisReply* r = new_reply(task->type);
  // The reader's buffer is reused for the next read: the bytes are copied.
  auto* copy = static_cast<char*>(t_current->allocate(len + 1));
  std::memcpy(copy, str, len);
  copy[len] = '\0';
  r->str = copy;
  r->len = len;
  attach(task, r);
  return r;
}

void* create_array(const redisReadTask* task, int elements) {
  redisReply* r = new_reply(REDIS_REPLY_ARRAY);
  if (elements > 0) {
    std::size_t n = static_cast<std::size_t>(elements);
    r->element = static_cast<redisReply**>(t_current->allocate(n * sizeof(redisReply*)));
    std::memset(r->element, 0, n * sizeof(redisReply*));
    r->elements = n;
  }
  attach(task, r);
  return r;
}

void* create_integer(const redisReadTask* task, long long value) {
  redisReply* r = new_reply(REDIS_REPLY_INTEGER);
  r->integer = value;
  attach(task, r);
  return r;
}

void* create_nil(const redisReadTask* task) {
  redisReply* r = new_reply(REDIS_REPLY_NIL);
  attach(task, r);
  return r;
}

void free_object(void*) {}  // the arena owns it

redisReplyObjectFunctions g_functions = {create_string, create_array, create_integer, create_nil, free_object};

}  // namespace

void ReplyArena::install(redisContext* ctx) { ctx->reader->fn = &g_functions; }

ReplyArena::Scope::Scope(ReplyArena& arena) : previous_(t_current) { t_current = &arena; }
ReplyArena::Scope::~Scope() { t_current = previous_; }

void* ReplyArena::allocate(std::size_t bytes) {
  bytes = (bytes + kAlign - 1) & ~(kAlign - 1);
  while (block_ < blocks_.size()) {
    Block& b = blocks_[block_];
    if (b.size - used_ >= bytes) {
      void* p = b.data.get() + used_;
      used_ += bytes;
      return p;
    }
    ++block_;
    used_ = 0;
  }
  std::size_t size = bytes > kBlockBytes ? bytes : kBlockBytes;
  // operator new[] aligns to __STDCPP_DEFAULT_NEW_ALIGNMENT__ (16 here).
  blocks_.push_back(Block{std::make_unique<std::byte[]>(size), size});
  block_ = blocks_.size() - 1;
  used_ = bytes;
  return blocks_.back().data.get();
}

void ReplyArena::release() {
  assert(live_ > 0);
  if (--live_ > 0) return;
  // No reply is alive: reuse everything from the first block. One outsized
  // reply must not pin its memory forever, so blocks past the first few go.
  constexpr std::size_t kKeepBlocks = 16;
  if (blocks_.size() > kKeepBlocks) blocks_.resize(kKeepBlocks);
  block_ = 0;
  used_ = 0;
}

}  // namespace nautilus::redis
