/**
 * The uploads function's routes, with their whole policy (see items/routes.ts for what a
 * declaration holds). Only the uploads function loads this list (index.ts); the documents get
 * it from routes.ts.
 */
import { READERS, WRITERS, defineRoute, type Route } from '../pipeline/route.ts';
import { ALLOWED_MIME_TYPES } from './file-types.ts';
import * as uploads from './handlers.ts';
import { listUploadsQuery, uploadPageResponse, uploadParams, uploadResponse } from './schemas.ts';

export const routes: readonly Route[] = [
  defineRoute({
    id: 'uploads.list',
    function: 'uploads',
    method: 'GET',
    path: '/uploads',
    summary: "List your uploads, newest first (admins: scope=all for everyone's)",
    access: { roles: READERS, allowUnverified: true },
    rateLimit: ['api'],
    query: listUploadsQuery,
    success: { status: 200, description: 'A page of uploads', body: uploadPageResponse },
    handler: uploads.listUploads,
  }),
  defineRoute({
    id: 'uploads.create',
    function: 'uploads',
    method: 'POST',
    path: '/uploads',
    summary: 'Upload one image (png, jpg or gif) as multipart/form-data in the field "file"',
    access: { roles: WRITERS },
    rateLimit: ['api', 'create'],
    multipart: true,
    success: { status: 201, description: "The upload's metadata, as stored", body: uploadResponse },
    failures: [413, 415],
    handler: uploads.createUpload,
  }),
  defineRoute({
    id: 'uploads.get',
    function: 'uploads',
    method: 'GET',
    path: '/uploads/:id',
    summary: "The metadata of one of your uploads (admins: anyone's)",
    access: { roles: READERS, allowUnverified: true },
    rateLimit: ['api'],
    params: uploadParams,
    success: { status: 200, description: "The upload's metadata", body: uploadResponse },
    failures: [404],
    handler: uploads.getUpload,
  }),
  defineRoute({
    id: 'uploads.content',
    function: 'uploads',
    method: 'GET',
    path: '/uploads/:id/content',
    summary: 'The bytes of one of your uploads, as a download (never rendered inline)',
    access: { roles: READERS, allowUnverified: true },
    rateLimit: ['api'],
    params: uploadParams,
    success: { status: 200, description: 'The bytes, as an attachment', media: ALLOWED_MIME_TYPES },
    failures: [404],
    handler: uploads.getUploadContent,
  }),
  defineRoute({
    id: 'uploads.delete',
    function: 'uploads',
    method: 'DELETE',
    path: '/uploads/:id',
    summary: 'Delete one of your uploads: its bytes and its metadata',
    access: { roles: WRITERS, mfa: ['admin'] },
    rateLimit: ['api'],
    params: uploadParams,
    success: { status: 204, description: 'Bytes and metadata deleted' },
    failures: [404],
    handler: uploads.deleteUpload,
  }),
];
