#include "sd_error.h"

#include <stdarg.h>
#include <stdio.h>

bool sd_fail(sd_error *err, int code, const char *fmt, ...)
{
	if (err == NULL)
		return false;
	va_list ap;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return false;
}
