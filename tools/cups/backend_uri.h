/* The device URI of the smb1 CUPS backend:
 *   smb1://[user[:password]@]server[:port]/printer[?opt=val&...]
 * user, password and printer are percent-decoded; user may be
 * DOMAIN;user (as smbspool takes it). Options: creds=FILE (a mount.cifs
 * credentials file: username=, password=, domain=), domain=, sec=,
 * sign=auto|required|off, openprintfile=1 (force SMB_COM_OPEN_PRINT_FILE;
 * for tests). */
#ifndef SMBFUSE_BACKEND_URI_H
#define SMBFUSE_BACKEND_URI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct backend_uri {
    char *user, *password, *domain; /* NULL when not given */
    char *host, *printer;
    uint16_t port; /* 0: default */
    char *creds;   /* credentials file */
    char *sec;     /* sec= value */
    char *sign;    /* sign= value */
    bool open_print_file;
};

/* Parses uri into u (all strings malloc'd). 0, or -EINVAL with a reason
 * in why. */
int backend_uri_parse(const char *uri, struct backend_uri *u, char *why, size_t why_len);
/* Reads a credentials file into u's user/password/domain where they are
 * not set yet. 0 or -errno. */
int backend_creds_file(const char *path, struct backend_uri *u);
/* Wipes the password and frees everything. */
void backend_uri_free(struct backend_uri *u);

#endif
