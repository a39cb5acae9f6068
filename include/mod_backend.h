/**
 * @file mod_backend.h
 * @brief mod_backend: a database-backed JSON REST API inside httpd.
 *
 * The public face of mod_backend for other modules.  The module itself is
 * configured entirely in httpd.conf (see conf/backend.conf); this header
 * only names what other modules may rely on.
 */
#ifndef MOD_BACKEND_H
#define MOD_BACKEND_H

/** The handler name to use with SetHandler. */
#define BACKEND_HANDLER "backend"

/** Version of the module, as "MAJOR.MINOR.PATCH". */
#define BACKEND_VERSION "0.1.0"

#endif /* MOD_BACKEND_H */
