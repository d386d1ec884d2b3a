// SPDX-License-Identifier: GPL-2.0
/* Must fail the build: global operator new does not exist in the kernel. */
#include <lbrctx/base.h>

void *operator new(lbrctx::size_t);

extern "C" int lbrctx_negative_use(void);
extern "C" int lbrctx_negative_use(void)
{
	int *p = static_cast<int *>(::operator new(sizeof(int)));
	return p != nullptr;
}
