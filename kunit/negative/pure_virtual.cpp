// SPDX-License-Identifier: GPL-2.0
/*
 * Must fail the build: a class with a pure virtual function gets a vtable
 * whose slot points at __cxa_pure_virtual, which g++ references weakly.
 */
#include <lbrctx/base.h>

namespace lbrctx_negative {

class Abstract {
public:
	constexpr Abstract() = default;
	virtual int f() const = 0;
	virtual int g() const; /* the key function: the vtable is emitted here */

protected:
	~Abstract() = default;
};

int Abstract::g() const
{
	return 1;
}

} // namespace lbrctx_negative
