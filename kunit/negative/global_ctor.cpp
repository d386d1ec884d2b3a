// SPDX-License-Identifier: GPL-2.0
/* Must fail the build: a global whose constructor runs at load time. */
#include <lbrctx/base.h>

namespace {
struct Loud {
	Loud() { lbrctx_info("constructed\n"); }
	int v = 1;
};
Loud g_loud;
} // namespace

extern "C" int lbrctx_negative_use(void);
extern "C" int lbrctx_negative_use(void)
{
	return g_loud.v;
}
