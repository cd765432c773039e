#ifndef LOG_H
#define LOG_H

/*
 * Logging.  Every line goes to stderr as "kstage: LEVEL func: message".
 * error() logs and returns -1 so that failure paths read
 * "return error("...")".  die() is for start-up only: it logs and exits
 * with status 2 (bad input / configuration), which the CLI documents.
 */

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_verbosity;

void log_msg(enum log_level level, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int error_at(const char *func, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void die_at(const char *func, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#define error(...) error_at(__func__, __VA_ARGS__)
#define die(...) die_at(__func__, __VA_ARGS__)
#define warn(...) log_msg(LOG_WARN, __func__, __VA_ARGS__)
#define info(...) log_msg(LOG_INFO, __func__, __VA_ARGS__)
#define debug(...) log_msg(LOG_DEBUG, __func__, __VA_ARGS__)

#endif
