import { createParamDecorator, ExecutionContext } from '@nestjs/common';

/** Who a verified access token speaks for; set on `req.user` by the JWT strategy. */
export interface Principal {
  user_id: string;
  session_id: string;
  roles: string[];
  /** The token's `exp`, in seconds: tickets it mints carry it as `auth_expires_at`. */
  exp: number;
}

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal =>
    ctx.switchToHttp().getRequest<{ user: Principal }>().user,
);
