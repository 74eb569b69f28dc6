/*
 * The signed PUT receiver of the local store.
 */

#ifndef _NGX_HTTP_MEDIA_UPLOAD_H_INCLUDED_
#define _NGX_HTTP_MEDIA_UPLOAD_H_INCLUDED_


#include "ngx_http_media_module.h"


ngx_int_t ngx_http_media_upload_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_MEDIA_UPLOAD_H_INCLUDED_ */
